import pino, { type Logger } from "pino";

/** Structured JSON lines on stdout; `job_id` and `lease_id` ride on each job's child logger. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

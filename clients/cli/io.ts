/** The process surface a command uses, so one command runs the same in a terminal, a pipe or a test. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C (SIGINT). */
  interrupt: AbortSignal;
}

/** Rich output (colour, tables, a live bar) only on a terminal; pipes and CI get plain lines. */
export function isRich(io: Io): boolean {
  return Boolean(io.stdout.isTTY) && io.env.TERM !== "dumb";
}

export function writeLine(stream: NodeJS.WritableStream, text = ""): void {
  stream.write(`${text}\n`);
}

/** The terminal's width; a pty that reports none (0) gets $COLUMNS or 100. */
export function columnsOf(io: Io): number {
  return io.stdout.columns || Number(io.env.COLUMNS) || 100;
}

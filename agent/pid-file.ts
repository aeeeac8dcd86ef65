import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";

/**
 * What the agent records about the ComfyUI it launched, so that a later agent (after a
 * `kill -9` left it running) can stop it. `start_ticks` is the process start time from
 * `/proc/<pid>/stat` (field 22, clock ticks since boot): a reused pid has another, and an
 * `exec` (a venv shim, a wrapper) keeps it, unlike the command line.
 */
export const PidRecordSchema = z.object({
  pid: z.number().int().positive(),
  start_ticks: z.string().regex(/^\d+$/),
  dir: z.string(),
  port: z.number().int(),
});
export type PidRecord = z.infer<typeof PidRecordSchema>;

/** The start time of a live process (not a zombie), or null when it is gone or /proc is absent. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces or ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return null;
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** Records a launched ComfyUI (best effort: a state dir that cannot be written is logged, not fatal). */
export async function writePidRecord(file: string, record: Omit<PidRecord, "start_ticks">, log: Logger): Promise<void> {
  const start_ticks = processStartTicks(record.pid);
  if (start_ticks === null) {
    log.warn({ pid: record.pid }, "cannot read the launched ComfyUI's start time (no /proc?); a later agent will not stop it if this one is killed");
    return;
  }
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify({ ...record, start_ticks })}\n`);
  } catch (e) {
    log.warn({ file, err: String(e) }, "could not record the launched ComfyUI's pid");
  }
}

export async function removePidRecord(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => {});
}

/**
 * Stops a ComfyUI that an earlier agent launched and left running (it was killed without its
 * cleanup): SIGTERM to its process group, SIGKILL after `graceMs`. Only when the recorded pid
 * still is that process (same start time); a pid the system has since reused is left alone.
 * Returns the pid it stopped, or null.
 */
export async function stopLeftoverComfy(file: string, log: Logger, graceMs = 10_000): Promise<number | null> {
  let record: PidRecord;
  try {
    const parsed = PidRecordSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
    if (!parsed.success) {
      log.warn({ file }, "unreadable ComfyUI pid record; ignoring it");
      await removePidRecord(file);
      return null;
    }
    record = parsed.data;
  } catch {
    return null; // none: the last agent stopped its ComfyUI itself
  }
  const { pid } = record;
  if (processStartTicks(pid) !== record.start_ticks) {
    log.debug({ pid }, "the ComfyUI an earlier agent launched is gone (its pid is free or another process's)");
    await removePidRecord(file);
    return null;
  }
  log.warn({ pid, port: record.port, dir: record.dir }, "a ComfyUI launched by an earlier agent of this id is still running; stopping it");
  signalGroup(pid, "SIGTERM");
  const until = Date.now() + graceMs;
  while (Date.now() < until && processStartTicks(pid) === record.start_ticks) await new Promise((r) => setTimeout(r, 50));
  // Its children (custom nodes' helpers) go with the group, even when the leader went first.
  signalGroup(pid, "SIGKILL");
  while (processStartTicks(pid) === record.start_ticks && Date.now() < until + 5_000) await new Promise((r) => setTimeout(r, 50));
  await removePidRecord(file);
  return pid;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // gone, or not a group leader
    }
  }
}

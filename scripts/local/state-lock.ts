/**
 * One local edge per state folder: two workerd processes writing the same SQLite and R2 files
 * corrupt each other quietly. The lock is a file in the folder naming its owner's pid; a lock
 * whose process is gone (a crash, kill -9) is stale and taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export const LOCK_FILE = "comfy-edge.lock";

const LockSchema = z.object({ pid: z.number().int().positive(), url: z.string().optional(), since: z.string().optional() });
type LockInfo = z.infer<typeof LockSchema>;

export interface StateLock {
  path: string;
  /** Records the URL the owner serves, for the refusal message of a second instance. */
  describe(url: string): void;
  release(): void;
}

export class StateDirBusyError extends Error {
  override readonly name = "StateDirBusyError";
  readonly code = "state_dir_busy";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(path: string): LockInfo | null {
  try {
    const parsed = LockSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Takes the folder's lock or throws StateDirBusyError naming the process that holds it. A lock
 * held by this very process also refuses: one process must not run two edges on one folder.
 */
export function lockStateDir(dir: string, pid = process.pid): StateLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const write = (info: LockInfo, flag: "wx" | "w") => writeFileSync(path, `${JSON.stringify(info)}\n`, { flag });
  const mine: LockInfo = { pid, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      write(mine, "wx");
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 2) throw e;
      const holder = readLock(path);
      if (holder && alive(holder.pid)) {
        throw new StateDirBusyError(
          `the state folder ${dir} is in use by another local edge (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ""}). ` +
            `Stop that one first, or give this one its own folder with STATE_DIR=<folder>. ` +
            `If no such process is running, delete ${path}.`,
        );
      }
      // Stale (its process is gone) or unreadable (a write cut short): take it over.
      rmSync(path, { force: true });
    }
  }
  let released = false;
  const ours = () => readLock(path)?.pid === pid;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    if (ours()) rmSync(path, { force: true });
  };
  process.on("exit", release);
  return {
    path,
    describe(url) {
      if (!released && ours()) write({ ...mine, url }, "w");
    },
    release,
  };
}

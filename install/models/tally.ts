import type { ModelSpec } from "../../shared/model-catalog/spec.ts";

type FileTally = { total: number | null; done: number; fetched: number; startedAt: number };

export type Rate = { done: number; total: number | null; bytesPerSecond: number; etaSeconds: number | null; percent: number | null };

/**
 * Byte counts, speed and ETA per file and for the whole run, for the progress displays.
 * "done" counts bytes on disk (a resumed part included); speed counts only bytes fetched in this run.
 */
export class ProgressTally {
  readonly #files = new Map<string, FileTally>();
  readonly #now: () => number;
  readonly #startedAt: number;
  #finishedBytes = 0;
  #fetched = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#startedAt = now();
  }

  /** Called per attempt; a retry replaces the file's counts with the new starting point. */
  start(spec: ModelSpec, totalBytes: number | null, resumedFrom: number): void {
    this.#files.set(spec.relPath, { total: totalBytes, done: resumedFrom, fetched: 0, startedAt: this.#now() });
  }

  advance(spec: ModelSpec, bytes: number): void {
    const file = this.#files.get(spec.relPath);
    if (file) {
      file.done += bytes;
      file.fetched += bytes;
    }
    this.#fetched += bytes;
  }

  /** Moves a file out of the running set; a completed file keeps counting towards the total. */
  finish(spec: ModelSpec, completed: boolean): void {
    const file = this.#files.get(spec.relPath);
    if (!file) return;
    if (completed) this.#finishedBytes += file.done;
    this.#files.delete(spec.relPath);
  }

  file(spec: ModelSpec): Rate | null {
    const file = this.#files.get(spec.relPath);
    if (!file) return null;
    return rate(file.done, file.total, file.fetched, this.#now() - file.startedAt);
  }

  overall(): Rate {
    let done = this.#finishedBytes;
    let total: number | null = this.#finishedBytes;
    for (const file of this.#files.values()) {
      done += file.done;
      total = file.total === null || total === null ? null : total + file.total;
    }
    return rate(done, total, this.#fetched, this.#now() - this.#startedAt);
  }
}

function rate(done: number, total: number | null, fetched: number, elapsedMs: number): Rate {
  const bytesPerSecond = elapsedMs > 0 ? (fetched * 1000) / elapsedMs : 0;
  const left = total === null ? null : Math.max(0, total - done);
  return {
    done,
    total,
    bytesPerSecond,
    etaSeconds: left === null || bytesPerSecond <= 0 ? null : left / bytesPerSecond,
    percent: total === null || total === 0 ? null : Math.min(100, Math.floor((done / total) * 100)),
  };
}

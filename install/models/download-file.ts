import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { attemptDownload, ResumedChecksumError } from "./attempt.ts";
import { toFailure } from "./errors.ts";
import type { DownloadEvents, FileOutcome } from "./events.ts";
import { sha256OfFile } from "./hashing.ts";
import { readSidecar, targetPaths, writeSidecar, type TargetPaths } from "./sidecar.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import type { Transport } from "./transport.ts";

export type FileJobOptions = {
  dest: string;
  transport: Transport;
  token: string | null;
  /** Tries per file, the first included. */
  attempts: number;
  /** First backoff delay; doubles per retry, capped at 30 s. */
  retryDelayMs: number;
  signal?: AbortSignal;
  events: DownloadEvents;
};

const MAX_DELAY_MS = 30_000;

/** Skips a file that is already complete and verified; otherwise downloads it, retrying with backoff. */
export async function downloadFile(spec: ModelSpec, options: FileJobOptions): Promise<FileOutcome> {
  const paths = targetPaths(options.dest, spec);
  const outcome = await run(spec, paths, options).catch((error: unknown) => failed(spec, paths, error, 1, options.signal));
  options.events.finished?.(spec, outcome);
  return outcome;
}

async function run(spec: ModelSpec, paths: TargetPaths, options: FileJobOptions): Promise<FileOutcome> {
  options.signal?.throwIfAborted();
  const existing = await inspectExisting(spec, paths, options.signal);
  if (existing.upToDate) return existing.upToDate;
  await mkdir(path.dirname(paths.final), { recursive: true });

  let freshRetryLeft = true;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptDownload(spec, paths, existing.finalSize, {
        transport: options.transport,
        token: options.token,
        ...(options.signal ? { signal: options.signal } : {}),
        started: (info) => options.events.started?.(spec, info),
        advanced: (bytes) => options.events.advanced?.(spec, bytes),
      }, attempt);
    } catch (error) {
      const failure = toFailure(error);
      // A resumed file can be corrupt where a whole one is fine (the revision moved mid-way): one fresh try.
      const retry = failure.retryable || (error instanceof ResumedChecksumError && freshRetryLeft);
      if (error instanceof ResumedChecksumError) freshRetryLeft = false;
      if (!retry || attempt >= options.attempts || options.signal?.aborted) return failed(spec, paths, error, attempt, options.signal);
      const delayMs = Math.min(MAX_DELAY_MS, options.retryDelayMs * 2 ** (attempt - 1));
      options.events.retrying?.(spec, { attempt: attempt + 1, delayMs, failure });
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    }
  }
}

type Existing = { upToDate: FileOutcome | null; finalSize: number | null };

async function inspectExisting(spec: ModelSpec, paths: TargetPaths, signal?: AbortSignal): Promise<Existing> {
  const finalSize = await stat(paths.final).then((s) => s.size, () => null);
  if (finalSize === null) return { upToDate: null, finalSize };
  const upToDate = (reason: "sidecar" | "pinned_checksum"): Existing => ({
    upToDate: { status: "up_to_date", relPath: spec.relPath, path: paths.final, reason },
    finalSize,
  });

  const sidecar = await readSidecar(paths.sidecar);
  if (sidecar?.state === "complete" && sidecar.url === spec.url && sidecar.size === finalSize && (spec.sha256 === null || sidecar.sha256 === spec.sha256)) {
    return upToDate("sidecar");
  }
  if (spec.sha256 !== null) {
    if ((await sha256OfFile(paths.final, signal)) !== spec.sha256) return { upToDate: null, finalSize: null };
    await writeSidecar(paths.sidecar, { state: "complete", url: spec.url, revision: spec.revision, commit: null, size: finalSize, sha256: spec.sha256, etag: null });
    return upToDate("pinned_checksum");
  }
  // Unpinned and unrecorded: the first response may still vouch for it (the Hub's sha256).
  return { upToDate: null, finalSize };
}

function failed(spec: ModelSpec, paths: TargetPaths, error: unknown, attempts: number, signal?: AbortSignal): FileOutcome {
  const failure = signal?.aborted ? { code: "aborted" as const, message: "stopped before it finished; run again to resume", retryable: false } : toFailure(error);
  return { status: "failed", relPath: spec.relPath, path: paths.final, failure, attempts };
}

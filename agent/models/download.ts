import { downloadFile } from "../../install/models/download-file.ts";
import type { DownloadFailure } from "../../install/models/errors.ts";
import type { Transport } from "../../install/models/transport.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import type { FETCH_ERROR_CODES } from "../../shared/protocol.ts";
import { sizeOf } from "./store.ts";

export type FetchErrorCode = (typeof FETCH_ERROR_CODES)[number];
export type FetchFailure = { code: FetchErrorCode; message: string };
export type DownloadResult = { ok: true; bytes: number } | ({ ok: false } & FetchFailure);

export type DownloadModelOptions = {
  transport: Transport;
  /** The rig's Hugging Face token; the downloader sends it to the Hub's own host only. */
  token: string | null;
  /** Tries, the first included (the downloader resumes the `.part` between them). */
  attempts: number;
  retryDelayMs: number;
  signal?: AbortSignal;
  /** The response came: its size when known, and how much of it a `.part` already had. */
  started?: (info: { totalBytes: number | null; resumedFrom: number }) => void;
  /** Bytes of the file on disk so far. */
  progressed?: (bytes: number) => void;
  retrying?: (info: { attempt: number; delayMs: number; failure: DownloadFailure }) => void;
};

/**
 * Downloads one model with the installer's downloader into `<modelsDir>/<section>/<file>`: resumes
 * a `.part`, verifies size and sha256, and only then renames it into place. Failures come back as
 * the protocol's fetch error codes.
 */
export async function downloadModel(spec: ModelSpec, modelsDir: string, options: DownloadModelOptions): Promise<DownloadResult> {
  let onDisk = 0;
  const outcome = await downloadFile(spec, {
    dest: modelsDir,
    transport: options.transport,
    token: options.token,
    attempts: options.attempts,
    retryDelayMs: options.retryDelayMs,
    ...(options.signal ? { signal: options.signal } : {}),
    events: {
      started: (_spec, info) => {
        onDisk = info.resumedFrom;
        options.started?.(info);
      },
      advanced: (_spec, bytes) => {
        onDisk += bytes;
        options.progressed?.(onDisk);
      },
      retrying: (_spec, info) => options.retrying?.(info),
    },
  });
  if (outcome.status === "downloaded") return { ok: true, bytes: outcome.bytes };
  if (outcome.status === "up_to_date") return { ok: true, bytes: (await sizeOf(outcome.path)) ?? 0 };
  return { ok: false, ...fetchFailure(outcome.failure) };
}

/** The installer's failure as the edge's fetch error: the edge tries another agent, then fails the jobs with it. */
export function fetchFailure(failure: DownloadFailure): FetchFailure {
  const message = failure.message.slice(0, 1024);
  switch (failure.code) {
    case "not_found":
      return { code: "not_found", message };
    case "checksum_mismatch":
    case "size_mismatch":
      return { code: "checksum_mismatch", message };
    case "disk_full":
      return { code: "disk_full", message };
    case "aborted":
      return { code: "refused", message: "the fetch was stopped (the agent is shutting down)" };
    default:
      return { code: "download_failed", message };
  }
}

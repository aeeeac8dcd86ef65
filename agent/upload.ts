import type { Readable } from "node:stream";
import pRetry, { AbortError } from "p-retry";
import { z } from "zod";
import type { UploadGrant } from "../shared/protocol.ts";
import { putStream } from "./http-put.ts";
import { BodyTooLarge, readBytes } from "./read-body.ts";

/** One file to PUT: a fresh stream per attempt (a consumed stream cannot be replayed). */
export type UploadSource = {
  /** Destroyed by the uploader on every path that does not read it to the end. */
  body: Readable;
  /** Exact length when known (the Content-Length to send); null makes the uploader count it. */
  bytes: number | null;
  contentType: string;
};

export type UploadErrorCode = "upload_rejected" | "upload_failed" | "output_too_large";

/** A failed upload, as a value the job layer turns into a `fail` message. */
export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly code: UploadErrorCode;
  readonly status: number | undefined;
  /** Whether another attempt (with a fresh grant) might succeed. */
  readonly retryable: boolean;

  constructor(code: UploadErrorCode, message: string, retryable: boolean, status?: number) {
    super(message);
    this.code = code;
    this.retryable = retryable;
    this.status = status;
  }
}

export type UploadOptions = {
  /** Further tries after the first on 5xx, 408, 429 and network errors. */
  retries?: number;
  minTimeoutMs?: number;
  signal?: AbortSignal;
  /** Limit on a PUT that stalls (nothing sent or received for this long). */
  timeoutMs?: number;
  onRetry?: (attempt: number, error: Error) => void;
};

const PutResponseSchema = z.object({ key: z.string().min(1).max(512) });

export function uploadUrl(grant: UploadGrant, index: number): string {
  const base = grant.base_url.replace(/\/+$/, "");
  return `${base}/${index}?exp=${encodeURIComponent(String(grant.exp))}&sig=${encodeURIComponent(grant.sig)}`;
}

/**
 * PUTs one output to the signed URL for `index`, streaming it, and returns the object
 * key the edge answers with. Retries with jittered backoff on 5xx/network errors; a 4xx
 * is final. `open` is called once per attempt.
 * @throws UploadError, or whatever `open` throws when it throws an AbortError-worthy error
 */
export async function uploadFile(
  grant: UploadGrant,
  index: number,
  open: () => Promise<UploadSource>,
  opts: UploadOptions = {},
): Promise<{ key: string; bytes: number }> {
  if (index < 0 || index >= grant.max_files) {
    throw new UploadError("upload_rejected", `output ${index + 1} exceeds the ${grant.max_files} file(s) this job may upload`, false);
  }
  const url = uploadUrl(grant, index);
  return pRetry(
    async () => {
      let source: UploadSource;
      try {
        source = await open();
      } catch (e) {
        throw isRetryableSourceError(e) ? toError(e) : new AbortError(toError(e));
      }
      return putOnce(url, source, grant.max_bytes, opts);
    },
    {
      retries: opts.retries ?? 5,
      minTimeout: opts.minTimeoutMs ?? 500,
      maxTimeout: 10_000,
      randomize: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onFailedAttempt: ({ error, attemptNumber }) => opts.onRetry?.(attemptNumber, error),
    },
  );
}

/**
 * Outputs up to this size are read whole before their PUT: the request then leaves in one write
 * (headers and body), and ComfyUI's connection is free before the upload starts. Larger ones
 * stream, so the agent never holds a video in memory.
 */
const READ_WHOLE_BYTES = 1024 * 1024;

async function putOnce(url: string, source: UploadSource, maxBytes: number, opts: UploadOptions): Promise<{ key: string; bytes: number }> {
  let body: Readable | Uint8Array = source.body;
  let bytes = source.bytes;
  if (bytes !== null && bytes > maxBytes) {
    source.body.destroy();
    throw new AbortError(new UploadError("output_too_large", `output is ${bytes} bytes; this job may upload at most ${maxBytes}`, false));
  }
  const timeoutMs = opts.timeoutMs ?? 300_000;
  // Without a length there is no Content-Length to send: read it whole (bounded by max_bytes).
  if (bytes === null || bytes <= READ_WHOLE_BYTES) {
    try {
      body = await readBytes(source.body, maxBytes, "refuse", timeoutMs);
    } catch (e) {
      if (e instanceof BodyTooLarge) throw new AbortError(new UploadError("output_too_large", `output exceeds the ${maxBytes} bytes this job may upload`, false));
      throw failed(`reading the output from ComfyUI failed`, e, opts.signal);
    }
    bytes = body.byteLength;
  }
  let res: { status: number; text: string };
  try {
    res = await putStream(url, body, { "content-type": source.contentType, "content-length": String(bytes) }, {
      timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    source.body.destroy();
    throw failed(`upload to ${new URL(url).host} failed`, e, opts.signal);
  }
  // A server may answer before reading the whole body: what is left of the source is dropped.
  source.body.destroy();
  const text = res.text;
  const ok = res.status >= 200 && res.status < 300;
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new UploadError("upload_failed", `upload answered HTTP ${res.status}: ${text.slice(0, 200)}`, true, res.status);
  }
  if (!ok) {
    // An expired or refused signature may work on another attempt with a fresh grant; a bad body will not.
    const retryable = res.status === 401 || res.status === 403;
    throw new AbortError(new UploadError("upload_rejected", `upload refused with HTTP ${res.status}: ${text.slice(0, 300)}`, retryable, res.status));
  }
  let parsed: z.infer<typeof PutResponseSchema>;
  try {
    parsed = PutResponseSchema.parse(JSON.parse(text));
  } catch {
    throw new AbortError(new UploadError("upload_rejected", `upload answered ${res.status} without a {key}: ${text.slice(0, 200)}`, true, res.status));
  }
  return { key: parsed.key, bytes };
}

/** A retryable upload_failed naming what failed and why, or the abort when the job's signal ended it. */
function failed(what: string, e: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new AbortError(toError(signal.reason));
  const err = e as { code?: string; message?: string };
  // The code names the failure; the message says more (a timeout's limit, which side reset).
  const why = err.code && err.message && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message || err.code || String(e);
  return new UploadError("upload_failed", `${what}: ${why}`, true);
}

function isRetryableSourceError(e: unknown): boolean {
  const retryable = (e as { retryable?: unknown; code?: unknown } | null)?.retryable;
  if (typeof retryable === "boolean") return retryable;
  const { code, status } = (e ?? {}) as { code?: unknown; status?: unknown };
  return code === "comfyui_unavailable" || (typeof status === "number" && status >= 500);
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

import { createHash } from "node:crypto";
import { open, rename, stat } from "node:fs/promises";
import { DownloadError, toFailure } from "./errors.ts";
import { formatBytes } from "./format.ts";
import type { FileOutcome } from "./events.ts";
import { feedFile, sha256OfFile } from "./hashing.ts";
import { mayCarryToken } from "../../shared/model-catalog/hosts.ts";
import { parseContentRange, parseLength, statusError } from "./http-status.ts";
import { header, openFollowingRedirects } from "./redirects.ts";
import { readSidecar, removeQuietly, writeSidecar, type TargetPaths } from "./sidecar.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import type { Transport } from "./transport.ts";

export type AttemptContext = {
  transport: Transport;
  token: string | null;
  signal?: AbortSignal;
  started(info: { totalBytes: number | null; resumedFrom: number }): void;
  advanced(bytes: number): void;
};

/** Set on a checksum failure of a resumed file: a fresh download may still succeed. */
export class ResumedChecksumError extends DownloadError {}

/**
 * One try at one file: resume `<final>.part` with a Range request when its sidecar says it
 * belongs to the same URL, stream into it while hashing, then check size and sha256 and only
 * then rename it into place. Throws `DownloadError` (or a network error) on failure.
 */
export async function attemptDownload(
  spec: ModelSpec,
  paths: TargetPaths,
  existingFinalSize: number | null,
  ctx: AttemptContext,
  attempts: number,
): Promise<FileOutcome> {
  const configured = new URL(spec.url);
  const sidecar = await readSidecar(paths.sidecar);
  let offset = (await sizeOf(paths.part)) ?? 0;
  if (offset > 0 && !(sidecar?.state === "partial" && sidecar.url === spec.url)) {
    await removeQuietly(paths.part);
    offset = 0;
  }

  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (sidecar?.etag) headers["if-range"] = sidecar.etag;
  }
  const { response, finalUrl, hub } = await openFollowingRedirects(configured, {
    transport: ctx.transport,
    token: ctx.token,
    headers,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });

  let total: number | null;
  if (response.status === 206) {
    const range = parseContentRange(header(response, "content-range"));
    if (range === null || range.start !== offset) {
      response.body.destroy();
      await removeQuietly(paths.part);
      throw new DownloadError("http_error", `${finalUrl.host} resumed at the wrong offset; starting over`, true);
    }
    total = range.total;
  } else if (response.status === 416 && offset > 0) {
    response.body.resume();
    const range = parseContentRange(header(response, "content-range"));
    if (range?.total !== offset) {
      await removeQuietly(paths.part);
      throw new DownloadError("http_error", `${finalUrl.host} refused the resume range; starting over`, true);
    }
    total = offset;
  } else if (response.status === 200) {
    offset = 0;
    total = parseLength(header(response, "content-length"));
  } else {
    response.body.resume();
    throw statusError(response.status, finalUrl, ctx.token !== null && mayCarryToken(configured, finalUrl), ctx.token !== null);
  }

  if (spec.sha256 !== null && hub.sha256 !== null && spec.sha256 !== hub.sha256) {
    response.body.destroy();
    throw new DownloadError(
      "checksum_mismatch",
      `the pinned sha256 ${spec.sha256} is not what the Hub serves for revision ${spec.revision ?? "?"} (${hub.sha256}); fix the pin or the revision`,
      false,
    );
  }
  if (spec.bytes !== null && total !== null && total !== spec.bytes) {
    response.body.destroy();
    throw new DownloadError("size_mismatch", `${finalUrl.host} serves ${total} bytes, but models.ini says size=${spec.bytes}; fix the size or the URL`, false);
  }
  const expected = spec.sha256 ?? hub.sha256;

  // A file already in place (e.g. from the old installer) that the Hub vouches for is adopted, not fetched again.
  if (existingFinalSize !== null && expected !== null && offset === 0 && existingFinalSize === total) {
    response.body.destroy();
    if ((await sha256OfFile(paths.final, ctx.signal)) === expected) {
      await writeSidecar(paths.sidecar, { state: "complete", url: spec.url, revision: spec.revision, commit: hub.commit, size: total, sha256: expected, etag: null });
      return { status: "up_to_date", relPath: spec.relPath, path: paths.final, reason: "hub_checksum" };
    }
    return attemptDownload(spec, paths, null, ctx, attempts);
  }

  const etag = header(response, "etag");
  await writeSidecar(paths.sidecar, {
    state: "partial",
    url: spec.url,
    revision: spec.revision,
    commit: hub.commit,
    size: total,
    sha256: expected,
    etag: etag !== null && !etag.startsWith("W/") ? etag : null,
  });

  const hash = createHash("sha256");
  if (offset > 0) await feedFile(paths.part, hash, ctx.signal);
  ctx.started({ totalBytes: total, resumedFrom: offset });
  let written = offset;
  if (response.status !== 416) {
    // Each chunk is on disk before the next is read, so a connection that breaks keeps in the
    // .part every byte it delivered (a pipeline would drop what its file stream still buffered).
    const part = await open(paths.part, offset > 0 ? "a" : "w");
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        ctx.signal?.throwIfAborted();
        hash.update(chunk);
        await part.write(chunk);
        written += chunk.length;
        ctx.advanced(chunk.length);
      }
    } catch (error) {
      const failure = toFailure(error);
      if (ctx.signal?.aborted || failure.code !== "network") throw error;
      throw new DownloadError("network", `connection to ${finalUrl.host} broke at ${formatBytes(written)} (${failure.message}); the .part is kept`, true);
    } finally {
      await part.close();
    }
  }

  if (total !== null && written !== total) {
    throw new DownloadError("truncated", `got ${written} of ${total} bytes from ${finalUrl.host}; resuming`, true);
  }
  if (spec.bytes !== null && written !== spec.bytes) {
    await removeQuietly(paths.part);
    await removeQuietly(paths.sidecar);
    throw new DownloadError("size_mismatch", `got ${written} bytes, but models.ini says size=${spec.bytes}; the download was discarded`, false);
  }
  const digest = hash.digest("hex");
  if (expected !== null && digest !== expected) {
    await removeQuietly(paths.part);
    await removeQuietly(paths.sidecar);
    const source = spec.sha256 !== null ? "the pinned" : "the Hub's";
    const message = `sha256 ${digest} is not ${source} ${expected}; the download was discarded`;
    throw offset > 0 ? new ResumedChecksumError("checksum_mismatch", message, false) : new DownloadError("checksum_mismatch", message, false);
  }

  await rename(paths.part, paths.final);
  await writeSidecar(paths.sidecar, { state: "complete", url: spec.url, revision: spec.revision, commit: hub.commit, size: written, sha256: digest, etag: null });
  return { status: "downloaded", relPath: spec.relPath, path: paths.final, bytes: written, sha256: digest, resumedFrom: offset, attempts, commit: hub.commit };
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

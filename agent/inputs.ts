import { createWriteStream, openAsBlob } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { JobMessage } from "../shared/protocol.ts";
import type { ComfyClient } from "./comfy/client.ts";
import { isComfyError } from "./comfy/errors.ts";

/** Why staging a job's input files failed; `retryable` says whether another attempt may succeed. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly code: "input_download_failed" | "invalid_input" | "comfyui_unavailable" | "comfyui_error";
  readonly retryable: boolean;

  constructor(code: InputError["code"], message: string, retryable: boolean) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }
}

/**
 * Downloads each input (to a temp file, so nothing big sits in memory), uploads it to
 * ComfyUI `/upload/image`, and returns a copy of the graph whose `inputs[input]` names
 * the uploaded file. Names carry the job id so concurrent jobs never overwrite each other.
 */
export async function stageInputs(
  comfy: ComfyClient,
  job: Pick<JobMessage, "job_id" | "graph" | "inputs">,
  signal?: AbortSignal,
  /** Each file as it lands in ComfyUI's input directory (`subfolder/name`), so it can be deleted later. */
  onUploaded?: (path: string) => void,
): Promise<Record<string, unknown>> {
  if (job.inputs.length === 0) return job.graph;
  const graph = structuredClone(job.graph);
  const dir = await mkdtemp(join(tmpdir(), "comfy-agent-"));
  try {
    for (const [i, input] of job.inputs.entries()) {
      const node = graph[input.node_id] as { inputs?: Record<string, unknown> } | undefined;
      if (!node || typeof node !== "object" || typeof node.inputs !== "object" || node.inputs === null) {
        throw new InputError("invalid_input", `input ${input.filename} targets node ${input.node_id}, which the graph lacks`, false);
      }
      const path = join(dir, String(i));
      await download(input.url, path, signal);
      const name = comfyName(job.job_id, input.filename);
      let uploaded;
      try {
        uploaded = await comfy.uploadImage(await openAsBlob(path), name, signal);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        const code = isComfyError(e) && e.code === "comfyui_unavailable" ? "comfyui_unavailable" : "comfyui_error";
        throw new InputError(code, `uploading ${input.filename} to ComfyUI failed: ${(e as Error).message}`, true);
      }
      node.inputs[input.input] = uploaded.subfolder ? `${uploaded.subfolder}/${uploaded.name}` : uploaded.name;
      if (uploaded.type === "input") onUploaded?.(node.inputs[input.input] as string);
    }
    return graph;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function download(url: string, path: string, signal?: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { ...(signal ? { signal } : {}) });
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new InputError("input_download_failed", `downloading input ${redact(url)} failed: ${(e as Error).message}`, true);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new InputError("input_download_failed", `downloading input ${redact(url)} answered HTTP ${res.status}`, res.status >= 500 || res.status === 429);
  }
  try {
    await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), createWriteStream(path), signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new InputError("input_download_failed", `downloading input ${redact(url)} broke off: ${(e as Error).message}`, true);
  }
}

/** `<job>_<name>`, reduced to characters ComfyUI and every file system accept. */
export function comfyName(jobId: string, filename: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "");
  const name = safe(basename(filename)) || "input.png";
  return `${safe(jobId).slice(0, 64)}_${name}`.slice(0, 200);
}

/** Signed URLs carry secrets in the query: keep them out of logs and errors. */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

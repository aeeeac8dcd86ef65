import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { TaskView } from "../../shared/api.ts";
import { ComfyEdgeError, errorFromResponse } from "./errors.ts";
import { networkError, type FetchLike } from "./http.ts";

type Output = NonNullable<TaskView["result"]>["outputs"][number];

/** A file name safe on every OS: the server's base name with anything unusual replaced. */
export function safeFilename(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = base.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return clean || fallback;
}

/** Gives each output its own name in the folder: `a.png`, `a-2.png`, ... */
function uniqueNames(outputs: Output[]): string[] {
  const seen = new Set<string>();
  return outputs.map((o, i) => {
    const name = safeFilename(o.filename, `output-${i + 1}`);
    const dot = name.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
    let candidate = name;
    for (let n = 2; seen.has(candidate); n++) candidate = `${stem}-${n}${ext}`;
    seen.add(candidate);
    return candidate;
  });
}

export interface DownloadDeps {
  fetch: FetchLike;
  /** Reads the task again for fresh links when one has expired. */
  refresh(taskId: string): Promise<TaskView>;
}

async function fetchOutput(deps: DownloadDeps, url: string, signal?: AbortSignal): Promise<Response> {
  try {
    // Signed links authorise themselves: no API key goes to the file URL.
    return await deps.fetch(url, signal ? { signal } : {});
  } catch (e) {
    throw networkError(e, "Downloading an output");
  }
}

/**
 * Saves every output of a finished task into `dir` (created if needed) under its own file
 * name, and returns the paths in output order. An expired link is renewed once by reading
 * the task again.
 */
export async function downloadOutputs(deps: DownloadDeps, task: TaskView, dir: string, signal?: AbortSignal): Promise<string[]> {
  if (task.status !== "SUCCESS" || !task.result) {
    throw new ComfyEdgeError("no_result", `Task ${task.task_id} is ${task.status}; only a SUCCESS task has outputs to download.`);
  }
  let outputs = task.result.outputs;
  const names = uniqueNames(outputs);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    let res = await fetchOutput(deps, outputs[i]!.url, signal);
    if (res.status === 403) {
      const err = await errorFromResponse(res);
      if (err.code !== "link_expired") throw err;
      outputs = (await deps.refresh(task.task_id)).result?.outputs ?? outputs;
      res = await fetchOutput(deps, outputs[i]!.url, signal);
    }
    if (!res.ok || !res.body) throw await errorFromResponse(res);
    const path = join(dir, names[i]!);
    await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), createWriteStream(path), signal ? { signal } : {});
    paths.push(path);
  }
  return paths;
}

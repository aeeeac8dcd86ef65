import { rm } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Logger } from "pino";
import type { ProducedFile } from "./comfy/outcome.ts";

/** ComfyUI's `input/` and `output/` directories, as this machine sees them. */
export type ComfyDirs = { input: string; output: string };

/** Where each lease's outputs go, under ComfyUI's output directory. */
export const OUTPUT_FOLDER = "comfy-edge";

/**
 * ComfyUI's directories: under --launch from its checkout and the flags it was given
 * (`--base-directory`, `--output-directory`, `--input-directory`, relative to its working
 * directory as ComfyUI resolves them), else from --comfy-dir; null when neither says.
 */
export function comfyDirs(opts: { launch: { dir: string; args: readonly string[] } | null; comfyDir: string | null }): ComfyDirs | null {
  if (opts.launch) {
    const { dir, args } = opts.launch;
    const flag = (name: string): string | null => {
      let value: string | null = null;
      for (const [i, a] of args.entries()) {
        if (a === name && i + 1 < args.length) value = args[i + 1] as string;
        else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
      }
      return value === null ? null : resolve(dir, value);
    };
    const base = flag("--base-directory") ?? resolve(dir);
    return { input: flag("--input-directory") ?? join(base, "input"), output: flag("--output-directory") ?? join(base, "output") };
  }
  if (opts.comfyDir) return { input: join(resolve(opts.comfyDir), "input"), output: join(resolve(opts.comfyDir), "output") };
  return null;
}

/**
 * Each job's files in ComfyUI, removed when the job ends: the inputs the agent uploaded and
 * the outputs its prompt wrote. Outputs go to a folder of their own per lease (the graph's
 * `filename_prefix` gains `comfy-edge/<lease>/`): removing one job's files never touches
 * another's, and a rerun of the same graph is not served ComfyUI's cached file names, whose
 * files would be gone.
 */
export class JobFiles {
  readonly dirs: ComfyDirs;
  readonly #log: Logger;

  constructor(dirs: ComfyDirs, log: Logger) {
    this.dirs = dirs;
    this.#log = log;
  }

  /** A copy of the graph whose literal `filename_prefix` inputs point into the lease's folder. */
  isolate(graph: Record<string, unknown>, leaseId: string): Record<string, unknown> {
    const folder = `${OUTPUT_FOLDER}/${safe(leaseId)}`;
    const out: Record<string, unknown> = { ...graph };
    for (const [id, node] of Object.entries(graph)) {
      const inputs = (node as { inputs?: unknown } | null)?.inputs;
      if (typeof inputs !== "object" || inputs === null) continue;
      const prefix = (inputs as Record<string, unknown>).filename_prefix;
      if (typeof prefix !== "string") continue;
      out[id] = { ...(node as object), inputs: { ...inputs, filename_prefix: `${folder}/${prefix.replace(/^[/\\]+/, "")}` } };
    }
    return out;
  }

  /**
   * Removes the lease's output folder, the listed outputs (a linked prefix may have put them
   * elsewhere) and the uploaded inputs: never anything outside ComfyUI's two directories.
   */
  async remove(job: { leaseId: string; inputs: readonly string[]; outputs: readonly Pick<ProducedFile, "filename" | "subfolder" | "type">[] }): Promise<void> {
    const targets: string[] = [join(this.dirs.output, OUTPUT_FOLDER, safe(job.leaseId))];
    for (const o of job.outputs) if (o.type === "output") targets.push(resolve(this.dirs.output, o.subfolder, o.filename));
    for (const name of job.inputs) targets.push(resolve(this.dirs.input, name));
    for (const target of targets) {
      if (!within(this.dirs.output, target) && !within(this.dirs.input, target)) {
        this.#log.warn({ path: target }, "not deleting a file outside ComfyUI's input/ and output/");
        continue;
      }
      try {
        await rm(target, { recursive: true, force: true, maxRetries: 2 });
      } catch (e) {
        this.#log.warn({ path: target, err: String(e) }, "could not delete a job's file in ComfyUI");
      }
    }
  }
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 128) || "_";
}

/** Strictly inside `dir` (the directory itself does not count). */
function within(dir: string, target: string): boolean {
  const rel = relative(dir, target);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

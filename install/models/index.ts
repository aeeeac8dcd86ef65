import { stat } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { loadModelSpecs, modelSpecsFromText } from "./config.ts";
import { downloadFile } from "./download-file.ts";
import { ModelsConfigError } from "./errors.ts";
import type { DownloadEvents, FileOutcome } from "./events.ts";
import { mapWithConcurrency } from "./pool.ts";
import { readSidecar, targetPaths } from "./sidecar.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import { findHuggingFaceToken } from "./token.ts";
import { undiciTransport, type Transport } from "./transport.ts";

export type { DownloadEvents, FileOutcome } from "./events.ts";
export type { DownloadFailure } from "./errors.ts";
export { ModelsConfigError } from "./errors.ts";
export type { ModelSpec } from "../../shared/model-catalog/spec.ts";
export type { HostMap, Transport } from "./transport.ts";

export const DEFAULT_CONFIG = "install/configs/models.ini";
export const DEFAULT_DEST = "ComfyUI/models";

/** The plain-data options of `downloadModels`; defaults are the CLI's. */
export const DownloadModelsOptionsSchema = z.object({
  config: z.string().min(1).default(DEFAULT_CONFIG).describe("models.ini path (relative to cwd)"),
  configText: z.string().optional().describe("models.ini content; used instead of reading `config`"),
  dest: z.string().min(1).default(DEFAULT_DEST).describe("The ComfyUI models folder; sections are subfolders"),
  concurrency: z.number().int().min(1).max(32).default(4).describe("Files downloaded at once"),
  dryRun: z.boolean().default(false).describe("List the files that would be written; write nothing, fetch nothing"),
  attempts: z.number().int().min(1).max(20).default(5).describe("Tries per file, the first included"),
  retryDelayMs: z.number().int().min(0).default(1_000).describe("First retry delay; doubles each retry"),
  idleTimeoutMs: z.number().int().min(1).default(60_000).describe("Abandon a connection silent this long (then retry)"),
  token: z.string().nullable().optional().describe("Hugging Face token; absent: HUGGINGFACE_TOKEN from env or ./.env"),
  hostMap: z.record(z.string(), z.string()).default({}).describe("Connect to another origin for a host (mirrors, tests)"),
  cwd: z.string().optional().describe("Base for relative paths and .env; default process.cwd()"),
});
export type DownloadModelsOptions = z.input<typeof DownloadModelsOptionsSchema> & {
  /** Replace the HTTP client (it follows redirects, applying the hop rules it is given). */
  transport?: Transport;
  events?: DownloadEvents;
  signal?: AbortSignal;
  /** Read for HUGGINGFACE_TOKEN and HTTP(S)_PROXY/NO_PROXY. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
};

/** One file as planned: where it goes and what it would take. */
export type PlannedFile = {
  relPath: string;
  path: string;
  url: string;
  revision: string | null;
  sha256: string | null;
  /** From the sidecar alone (no hashing): `complete` files will be skipped. */
  onDisk: "complete" | "partial" | "absent" | "unverified";
};

export type DownloadSummary = {
  dryRun: boolean;
  dest: string;
  planned: PlannedFile[];
  /** Empty on a dry run. */
  outcomes: FileOutcome[];
  ok: boolean;
};

/**
 * Downloads every model `models.ini` names into `dest/<section>/<name>`, in parallel, resuming
 * and verifying; files already complete are skipped. Config problems throw `ModelsConfigError`
 * (nothing is downloaded); per-file failures come back as values in `outcomes`.
 *
 * @example
 * const summary = await downloadModels({ dest: "ComfyUI/models", concurrency: 4 });
 * if (!summary.ok) for (const o of summary.outcomes) if (o.status === "failed") console.error(o.relPath, o.failure.message);
 */
export async function downloadModels(options: DownloadModelsOptions = {}): Promise<DownloadSummary> {
  const parsed = DownloadModelsOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ModelsConfigError("bad_option", `bad option: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const opts = parsed.data;
  const cwd = opts.cwd ?? process.cwd();
  const dest = path.resolve(cwd, opts.dest);
  const specs = opts.configText !== undefined ? modelSpecsFromText(opts.configText) : await loadModelSpecs(path.resolve(cwd, opts.config));
  const planned = await Promise.all(specs.map((spec) => plan(spec, dest)));
  const events = options.events ?? {};
  events.planned?.(specs);

  if (opts.dryRun) return { dryRun: true, dest, planned, outcomes: [], ok: true };

  const token = opts.token !== undefined ? opts.token : findHuggingFaceToken(options.env ?? process.env, cwd);
  let transport = options.transport;
  let closeTransport = async (): Promise<void> => {};
  if (!transport) {
    const own = undiciTransport({ hostMap: opts.hostMap, idleTimeoutMs: opts.idleTimeoutMs, ...(options.env ? { env: options.env } : {}) });
    transport = own;
    closeTransport = own.close;
  }
  const outcomes = await mapWithConcurrency(specs, opts.concurrency, (spec) =>
    downloadFile(spec, {
      dest,
      transport,
      token,
      attempts: opts.attempts,
      retryDelayMs: opts.retryDelayMs,
      events,
      ...(options.signal ? { signal: options.signal } : {}),
    }),
  ).finally(closeTransport);
  return { dryRun: false, dest, planned, outcomes, ok: outcomes.every((o) => o.status !== "failed") };
}

async function plan(spec: ModelSpec, dest: string): Promise<PlannedFile> {
  const paths = targetPaths(dest, spec);
  const [finalSize, partSize, sidecar] = await Promise.all([sizeOf(paths.final), sizeOf(paths.part), readSidecar(paths.sidecar)]);
  let onDisk: PlannedFile["onDisk"] = "absent";
  if (finalSize !== null) {
    const complete = sidecar?.state === "complete" && sidecar.url === spec.url && sidecar.size === finalSize && (spec.sha256 === null || sidecar.sha256 === spec.sha256);
    onDisk = complete ? "complete" : "unverified";
  } else if (partSize !== null) {
    onDisk = "partial";
  }
  return { relPath: spec.relPath, path: paths.final, url: spec.url, revision: spec.revision, sha256: spec.sha256, onDisk };
}

async function sizeOf(file: string): Promise<number | null> {
  return stat(file).then((s) => s.size, () => null);
}

/**
 * Runs the edge Worker locally in workerd through Miniflare: the same bundle and bindings
 * as production (read from wrangler.toml), Durable Objects and R2 persisted under a folder.
 * Used by `npm start`, the end-to-end tests, the benchmark and the chaos harness.
 */
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleManifests } from "../bundle-manifests.ts";
import { ASSETS_DIR, buildWebAssets } from "../build-web.ts";
import { assertPortFree, freePort, isAddressInUse, PortInUseError } from "./port.ts";
import { lockStateDir } from "./state-lock.ts";
import { readWranglerConfig, wranglerTomlPath } from "./wrangler-config.ts";

export { freePort } from "./port.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface EdgeKeys {
  client: string;
  agent: string;
  admin: string;
  /** Extra client keys by name (tests of cross-key access). */
  others?: Record<string, string>;
}

export interface LocalEdgeOptions {
  port?: number;
  host?: string;
  keys: EdgeKeys;
  /** Folder for Durable Object and R2 state (one edge at a time: it is locked); omit for in-memory state. */
  persistDir?: string;
  /** The wrangler.toml whose compatibility settings and [vars] apply (default: the project's). */
  configPath?: string;
  /** Overrides of wrangler.toml [vars]. */
  vars?: Record<string, string>;
  signingKey?: string;
  /** Opens workerd's inspector (DevTools protocol) on this port: the benchmark's CPU profiles. */
  inspectorPort?: number;
}

export interface LocalEdge {
  url: string;
  port: number;
  close(): Promise<void>;
  mf: Miniflare;
}

let bundled: Promise<string> | undefined;

/** Bundles edge/index.ts once per process, exactly as wrangler would for deploy. */
function bundle() {
  bundled ??= (async () => {
    bundleManifests();
    buildWebAssets();
    // One file per process: parallel test files each bundle without reading a half-written file.
    const out = join(ROOT, `.wrangler/local/edge-${process.pid}.mjs`);
    mkdirSync(dirname(out), { recursive: true });
    process.once("exit", () => rmSync(out, { force: true }));
    await build({
      entryPoints: [join(ROOT, "edge/index.ts")],
      outfile: out,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      external: ["cloudflare:*", "node:*"],
      logLevel: "error",
    });
    return out;
  })();
  return bundled;
}

export function apiKeysJson(keys: EdgeKeys): string {
  return JSON.stringify([
    // Raw graphs allowed: on one's own machine, a graph exported from one's own ComfyUI should just run.
    { name: "local-client", role: "client", key: keys.client, raw: true },
    { name: "local-agent", role: "agent", key: keys.agent },
    { name: "local-admin", role: "admin", key: keys.admin },
    ...Object.entries(keys.others ?? {}).map(([name, key]) => ({ name, role: "client", key })),
  ]);
}

/**
 * Starts the edge. A taken fixed port throws PortInUseError; a state folder another local edge
 * holds throws StateDirBusyError (see state-lock.ts).
 */
export async function startLocalEdge(opts: LocalEdgeOptions): Promise<LocalEdge> {
  const { compat, vars } = readWranglerConfig(opts.configPath ?? wranglerTomlPath(ROOT));
  const lock = opts.persistDir ? lockStateDir(opts.persistDir) : null;
  try {
    return await startLocked(opts, compat, vars, lock);
  } catch (e) {
    lock?.release();
    throw e;
  }
}

async function startLocked(
  opts: LocalEdgeOptions,
  compat: { date: string; flags: string[] },
  vars: Record<string, string>,
  lock: ReturnType<typeof lockStateDir> | null,
): Promise<LocalEdge> {
  const path = await bundle();
  const host = opts.host ?? "127.0.0.1";
  const publicUrl = (port: number) => opts.vars?.PUBLIC_URL ?? `http://${host}:${port}`;
  // Clients talk straight to the Worker on a direct socket: Miniflare's own entry socket (on a
  // port of its choosing) adds a proxy hop that costs about 1 ms per request. The socket names
  // edge/index.ts's LocalDirect entrypoint, past the assets router (see there).
  const make = (port: number) =>
    new Miniflare({
      host,
      port: 0,
      unsafeDirectSockets: [{ host, port, proxy: false, entrypoint: "LocalDirect" }],
      modules: true,
      scriptPath: path,
      compatibilityDate: compat.date,
      compatibilityFlags: compat.flags,
      durableObjects: { JOB_QUEUE: { className: "JobQueue", useSQLite: true } },
      r2Buckets: ["FILES"],
      // As wrangler.toml's [assets]: the Worker runs first and serves the pages through ASSETS.
      assets: { directory: ASSETS_DIR, binding: "ASSETS", routerConfig: { invoke_user_worker_ahead_of_assets: true, has_user_worker: true } },
      ...(opts.persistDir ? { defaultPersistRoot: opts.persistDir } : {}),
      ...(opts.inspectorPort ? { inspectorPort: opts.inspectorPort } : {}),
      bindings: {
        ...vars,
        ALLOW_HTTP_WEBHOOKS: "true",
        ...opts.vars,
        PUBLIC_URL: publicUrl(port),
        SIGNING_KEY: opts.signingKey ?? "local-signing-key-" + "0".repeat(16),
        API_KEYS: apiKeysJson(opts.keys),
      },
    });
  // PUBLIC_URL must name the real port, so a port picked by the OS is learned first. Another
  // process may take it before workerd binds it: then another port is tried.
  let port = opts.port ?? 0;
  if (port !== 0) await assertPortFree(host, port);
  let mf: Miniflare;
  for (let attempt = 1; ; attempt++) {
    const chosen = port === 0 ? await freePort(host) : port;
    mf = make(chosen);
    try {
      await mf.ready;
      port = chosen;
      break;
    } catch (e) {
      await mf.dispose().catch(() => undefined);
      if (!isAddressInUse(e)) throw e;
      if (port !== 0) throw new PortInUseError(port);
      if (attempt >= 5) throw e;
    }
  }
  const url = `http://${host}:${port}`;
  lock?.describe(url);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= mf.dispose().finally(() => lock?.release()));
  return { url, port, mf, close };
}

/**
 * Runs the edge Worker locally in workerd through Miniflare: the same bundle and bindings
 * as production (read from wrangler.toml), Durable Objects and R2 persisted under a folder.
 * Used by `npm start`, the end-to-end tests, the benchmark and the chaos harness.
 */
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleManifests } from "../bundle-manifests.ts";

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
  /** Folder for Durable Object and R2 state; omit for in-memory state. */
  persistDir?: string;
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

let bundled: Promise<{ path: string; compat: { date: string; flags: string[] }; vars: Record<string, string> }> | undefined;

/** Bundles edge/index.ts once per process, exactly as wrangler would for deploy. */
function bundle() {
  bundled ??= (async () => {
    bundleManifests();
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
    return { path: out, ...readWranglerToml() };
  })();
  return bundled;
}

/** The few wrangler.toml facts the runner needs (compat date/flags and [vars]); a tiny reader, not a TOML parser. */
function readWranglerToml(): { compat: { date: string; flags: string[] }; vars: Record<string, string> } {
  const text = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? "2026-04-01";
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  const varsBlock = /^\[vars\]\n([\s\S]*?)(?=^\[|\Z)/m.exec(text)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const m of varsBlock.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[m[1]!] = m[2]!;
  return { compat: { date, flags }, vars };
}

export function apiKeysJson(keys: EdgeKeys): string {
  return JSON.stringify([
    { name: "local-client", role: "client", key: keys.client },
    { name: "local-agent", role: "agent", key: keys.agent },
    { name: "local-admin", role: "admin", key: keys.admin },
    ...Object.entries(keys.others ?? {}).map(([name, key]) => ({ name, role: "client", key })),
  ]);
}

export async function startLocalEdge(opts: LocalEdgeOptions): Promise<LocalEdge> {
  const { path, compat, vars } = await bundle();
  const host = opts.host ?? "127.0.0.1";
  const publicUrl = (port: number) => opts.vars?.PUBLIC_URL ?? `http://${host}:${port}`;
  // Clients talk straight to the Worker on a direct socket: Miniflare's own entry socket (on a
  // port of its choosing) adds a proxy hop that costs about 1 ms per request.
  const make = (port: number) =>
    new Miniflare({
      host,
      port: 0,
      unsafeDirectSockets: [{ host, port, proxy: false }],
      modules: true,
      scriptPath: path,
      compatibilityDate: compat.date,
      compatibilityFlags: compat.flags,
      durableObjects: { JOB_QUEUE: { className: "JobQueue", useSQLite: true } },
      r2Buckets: ["FILES"],
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
      if (port !== 0 || attempt >= 5 || !/address already in use/i.test(String((e as Error)?.message ?? e))) throw e;
    }
  }
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | undefined;
  return { url, port, mf, close: () => (closing ??= mf.dispose()) };
}

/** A port the OS says is free now (another process may still take it before it is bound). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

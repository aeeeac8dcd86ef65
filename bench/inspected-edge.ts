import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { apiKeysJson, ROOT, startLocalEdge, type EdgeKeys } from "../scripts/local/edge.ts";

/** The bundle scripts/local/edge.ts writes (and reuses) on its first start in a process. */
const BUNDLE = join(ROOT, ".wrangler/local/edge.mjs");
let bundled: Promise<void> | undefined;

/** wrangler.toml's compatibility date and flags (the same few facts scripts/local/edge.ts reads). */
function compat(toml: string): { date: string; flags: string[] } {
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-04-01";
  const flags = [...(/^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  return { date, flags };
}

export interface InspectedEdge {
  url: string;
  /** Stops the CPU profile started at launch, writes it to `file` (a `.cpuprofile`), then stops the edge. */
  close(file: string | null): Promise<void>;
}

type Call = (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;

async function devtools(url: string): Promise<{ call: Call; close(): void }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let next = 0;
  const pending = new Map<number, (m: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString("utf8")) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  });
  const call: Call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      pending.set(id, (m) => {
        pending.delete(id);
        if (m.error) reject(new Error(`${method}: ${m.error.message}`));
        else resolve(m.result ?? {});
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => ws.close() };
}

/**
 * The local edge as scripts/local/edge.ts runs it (same bundle, bindings and in-memory state),
 * with workerd's inspector open so the benchmark can CPU-profile the Worker and its Durable
 * Object (V8 Profiler over the DevTools protocol). Only `--cpu-prof` uses it.
 */
export async function startInspectedEdge(keys: EdgeKeys, vars: Record<string, string>, inspectorPort: number, persistDir: string): Promise<InspectedEdge> {
  bundled ??= startLocalEdge({ keys }).then((e) => e.close());
  await bundled;
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const { date, flags } = compat(toml);
  const port = await freePort();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port,
    inspectorPort,
    modules: true,
    scriptPath: BUNDLE,
    compatibilityDate: date,
    compatibilityFlags: flags,
    durableObjects: { JOB_QUEUE: { className: "JobQueue", useSQLite: true } },
    r2Buckets: ["FILES"],
    defaultPersistRoot: persistDir,
    bindings: {
      ALLOW_HTTP_WEBHOOKS: "true",
      ...vars,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SIGNING_KEY: "local-signing-key-" + "0".repeat(16),
      API_KEYS: apiKeysJson(keys),
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
  const user = targets.find((t) => t.id.startsWith("core:user:"));
  if (!user) throw new Error("workerd's inspector lists no user worker to profile");
  const dt = await devtools(user.webSocketDebuggerUrl);
  await dt.call("Profiler.enable");
  await dt.call("Profiler.setSamplingInterval", { interval: 200 });
  await dt.call("Profiler.start");
  return {
    url,
    async close(file) {
      try {
        const { profile } = await dt.call("Profiler.stop");
        if (file) writeFileSync(file, JSON.stringify(profile));
      } finally {
        dt.close();
        await mf.dispose();
      }
    },
  };
}

export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

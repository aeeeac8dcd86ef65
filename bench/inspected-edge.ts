import { writeFileSync } from "node:fs";
import WebSocket from "ws";
import { startLocalEdge, type EdgeKeys } from "../scripts/local/edge.ts";

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
 * The local edge as scripts/local/edge.ts runs it, with workerd's inspector open so the
 * benchmark can CPU-profile the Worker and its Durable Object (V8 Profiler over the DevTools
 * protocol). Only `--cpu-prof` uses it.
 */
export async function startInspectedEdge(keys: EdgeKeys, vars: Record<string, string>, inspectorPort: number, persistDir: string): Promise<InspectedEdge> {
  const edge = await startLocalEdge({ keys, vars, persistDir, inspectorPort });
  try {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
    const user = targets.find((t) => t.id.startsWith("core:user:"));
    if (!user) throw new Error("workerd's inspector lists no user worker to profile");
    const dt = await devtools(user.webSocketDebuggerUrl);
    await dt.call("Profiler.enable");
    await dt.call("Profiler.setSamplingInterval", { interval: 200 });
    await dt.call("Profiler.start");
    return {
      url: edge.url,
      async close(file) {
        try {
          const { profile } = await dt.call("Profiler.stop");
          if (file) writeFileSync(file, JSON.stringify(profile));
        } finally {
          dt.close();
          await edge.close();
        }
      },
    };
  } catch (e) {
    await edge.close();
    throw e;
  }
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalEdge, type EdgeKeys, type LocalEdge } from "../scripts/local/edge.ts";
import { sleep } from "./random.ts";

/** The slice of R2's list API this harness reads. */
interface ListableBucket {
  list(opts: { cursor?: string; limit: number }): Promise<{ objects: { key: string; size: number }[]; truncated: boolean; cursor?: string }>;
}

export interface RestartableEdge {
  readonly url: string;
  readonly port: number;
  readonly restarts: number;
  /** Closes workerd and starts a new one on the same port over the same persisted state. */
  restart(downMs?: number): Promise<void>;
  /** Every object key (and size) in the FILES bucket, read through Miniflare. */
  listObjects(): Promise<{ key: string; size: number }[]>;
  close(): Promise<void>;
}

/**
 * The real Worker in workerd (via Miniflare), with Durable Object and R2 state on disk so
 * it can be stopped and started again like a redeploy or a crashed runtime.
 */
export async function startRestartableEdge(opts: { keys: EdgeKeys; vars?: Record<string, string>; persistDir?: string }): Promise<RestartableEdge> {
  const ownDir = opts.persistDir === undefined;
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "chaos-edge-"));
  let edge: LocalEdge = await startLocalEdge({ keys: opts.keys, vars: opts.vars, persistDir });
  const port = edge.port;
  let restarts = 0;
  let closed = false;

  async function startOnSamePort(): Promise<LocalEdge> {
    // The old runtime may hold the port for a moment after it exits.
    for (let attempt = 0; ; attempt++) {
      try {
        return await startLocalEdge({ keys: opts.keys, vars: opts.vars, persistDir, port });
      } catch (e) {
        if (attempt >= 40) throw e;
        await sleep(250);
      }
    }
  }

  return {
    url: edge.url,
    port,
    get restarts() {
      return restarts;
    },
    async restart(downMs = 0) {
      await edge.close();
      await sleep(downMs);
      edge = await startOnSamePort();
      restarts++;
    },
    async listObjects() {
      const bucket = (await edge.mf.getR2Bucket("FILES")) as unknown as ListableBucket;
      const out: { key: string; size: number }[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ cursor, limit: 1000 });
        for (const o of page.objects) out.push({ key: o.key, size: o.size });
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await edge.close();
      if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type EdgeKeys } from "../scripts/local/edge.ts";
import { startStack } from "../scripts/local/stack.ts";
import { EdgeClient } from "./http-client.ts";
import { startInspectedEdge } from "./inspected-edge.ts";
import { procCpuMs, workerdMemory, workerdPids, type ProcMemory } from "./procfs.ts";

/** Fresh random keys for one benchmark run (never logged). */
export function randomKeys(): EdgeKeys {
  const key = (role: string) => `bench_${role}_${randomBytes(18).toString("base64url")}`;
  return { client: key("client"), agent: key("agent"), admin: key("admin") };
}

/** Limits that would refuse a benchmark's burst of submissions (they are measured elsewhere, in e2e). */
const BENCH_VARS = { RATE_LIMIT_PER_MIN: "1000000", MAX_QUEUED_PER_KEY: "1000000", MAX_QUEUE_DEPTH: "1000000" };

export interface BenchEdge {
  url: string;
  keys: EdgeKeys;
  client: EdgeClient;
  /** CPU time the edge's workerd process has used so far, in ms (null if it was not found). */
  cpuMs(): number | null;
  /** Reads the workerd peak RSS, then stops the edge. */
  close(): Promise<ProcMemory | null>;
}

export interface BenchEdgeOptions {
  clientSockets?: number;
  /** CPU-profile the Worker and its Durable Object into this `.cpuprofile` file (workerd's inspector). */
  profileFile?: string | null;
}

/**
 * Where the local Durable Object and R2 state goes: memory (tmpfs) where the machine has it.
 * Miniflare's default is a folder under /tmp, on disk here, and then every queue write paid
 * an fsync to a virtual disk (a quarter of workerd's CPU time in `perf`), which is the
 * emulator's storage, not what the queue costs on Cloudflare.
 */
function benchStateDir(): string {
  return mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "comfy-edge-bench-"));
}

/**
 * A fresh edge in workerd with its state in memory: the local stack with no agents of its own
 * (each section brings the agents and sims it measures).
 */
export async function startBenchEdge(keys: EdgeKeys, opts: BenchEdgeOptions = {}): Promise<BenchEdge> {
  const before = new Set(workerdPids());
  const stateDir = benchStateDir();
  let url: string;
  let stop: () => Promise<void>;
  try {
    if (opts.profileFile) {
      const edge = await startInspectedEdge(keys, BENCH_VARS, await freePort(), stateDir);
      url = edge.url;
      stop = () => edge.close(opts.profileFile ?? null);
    } else {
      const stack = await startStack({ keys, agents: 0, edge: { vars: BENCH_VARS, persistDir: stateDir } });
      url = stack.edge.url;
      stop = () => stack.close();
    }
  } catch (e) {
    rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
  const pid = workerdPids().find((p) => !before.has(p)) ?? null;
  const client = new EdgeClient(url, keys, opts.clientSockets ?? 32);
  return {
    url,
    keys,
    client,
    cpuMs: () => (pid === null ? null : procCpuMs(pid)),
    async close() {
      const mem = workerdMemory();
      client.close();
      try {
        await stop();
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
      return mem;
    },
  };
}

/** Runs `fn` against a fresh edge and always stops it; the edge's peak memory comes back with the value. */
export async function withEdge<T>(keys: EdgeKeys, opts: BenchEdgeOptions, fn: (edge: BenchEdge) => Promise<T>): Promise<{ value: T; memory: ProcMemory | null }> {
  const edge = await startBenchEdge(keys, opts);
  let value: T;
  try {
    value = await fn(edge);
  } catch (e) {
    await edge.close().catch(() => null);
    throw e;
  }
  return { value, memory: await edge.close() };
}

import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskView } from "../shared/api.ts";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, FAST_AGENT, sd15RawGraph, testKeys, until } from "./helpers.ts";

/** Model files on a local HTTP server, as a CDN would serve them; it counts the GETs per path. */
async function fileServer(files: Record<string, Buffer>) {
  const gets = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const body = files[path];
    if (req.method === "GET") gets.set(path, (gets.get(path) ?? 0) + 1);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    // Slow enough that a second job arrives while the first fetch runs.
    res.write(body.subarray(0, body.length >> 1));
    setTimeout(() => res.end(body.subarray(body.length >> 1)), 300);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, gets: (path: string) => gets.get(path) ?? 0, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const MiB = 1024 * 1024;

const sd15With = (checkpoint: string, prompt: string) => sd15RawGraph({ prompt, checkpoint });

async function submitGraph(stack: Stack, graph: Record<string, unknown>, key = stack.keys.client): Promise<Response> {
  return fetch(`${stack.edge.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ graph }),
  });
}

async function runGraph(stack: Stack, api: Api, graph: Record<string, unknown>): Promise<TaskView> {
  const res = await submitGraph(stack, graph);
  const body = (await res.json()) as { task_id: string };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return api.waitFor(body.task_id, undefined, 60_000);
}

describe("models fetched on demand (edge in workerd, a real agent, the sim, a local file server)", () => {
  const a = randomBytes(1 * MiB);
  const b = randomBytes(1 * MiB);
  const c = randomBytes(256 * 1024);
  const bad = randomBytes(64 * 1024);
  let files: Awaited<ReturnType<typeof fileServer>>;
  let stack: Stack;
  let api: Api;

  beforeAll(async () => {
    files = await fileServer({ "/tiny-a.safetensors": a, "/tiny-b.safetensors": b, "/tiny-c.safetensors": c, "/tiny-bad.safetensors": bad });
    const ini = [
      "[checkpoints]",
      `_ = ${files.origin}/tiny-a.safetensors#sha256=${sha(a)}&size=${a.length}`,
      `_ = ${files.origin}/tiny-b.safetensors#sha256=${sha(b)}&size=${b.length}`,
      `_ = ${files.origin}/tiny-c.safetensors#sha256=${sha(c)}`,
      `_ = ${files.origin}/tiny-bad.safetensors#sha256=${"0".repeat(64)}`,
    ].join("\n");
    stack = await startStack({
      keys: testKeys("mod"),
      agents: 1,
      sim: { stepMs: 5 },
      // Room for one fetched 1 MiB model, not two: the second evicts the first.
      agent: { ...FAST_AGENT, modelsCacheBytes: Math.round(1.5 * MiB) },
      edge: { vars: { MODEL_CATALOG_INI: ini } },
    });
    api = new Api(stack.edge.url, stack.keys.client);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await files?.close();
  });

  it("fetches a model no rig has from the catalog, verifies it, runs the job with it, and says how long the fetch took", async () => {
    const task = await runGraph(stack, api, sd15With("tiny-a.safetensors", "fetched a"));
    expect(task.status, JSON.stringify(task.error)).toBe("SUCCESS");
    expect(task.workflow_id).toBeNull();
    expect(task.timings.fetch_ms).toBeGreaterThan(0);
    const onDisk = join(stack.sims[0]!.dirs.models, "checkpoints", "tiny-a.safetensors");
    expect(sha(readFileSync(onDisk))).toBe(sha(a));
    expect(files.gets("/tiny-a.safetensors")).toBe(1);

    const agents = (await (await fetch(`${stack.edge.url}/agents`, { headers: { authorization: `Bearer ${stack.keys.admin}` } })).json()) as {
      agents: { model_store: { fetched: string[] } | null; inventory: Record<string, string[]> }[];
    };
    expect(agents.agents[0]!.model_store?.fetched).toContain("checkpoints/tiny-a.safetensors");
  });

  it("evicts the least recently used fetched model when the next would pass the agent's budget, sparing the operator's files", async () => {
    const task = await runGraph(stack, api, sd15With("tiny-b.safetensors", "fetched b"));
    expect(task.status, JSON.stringify(task.error)).toBe("SUCCESS");
    const dir = join(stack.sims[0]!.dirs.models, "checkpoints");
    expect(existsSync(join(dir, "tiny-b.safetensors"))).toBe(true);
    expect(existsSync(join(dir, "tiny-a.safetensors"))).toBe(false);
    // The operator's checkpoint (there at start) stays.
    expect(existsSync(join(dir, "v1-5-pruned-emaonly.safetensors"))).toBe(true);
  });

  it("downloads a model once for two jobs that need it at the same time", async () => {
    const ids: string[] = [];
    for (const prompt of ["c one", "c two"]) {
      const res = await submitGraph(stack, sd15With("tiny-c.safetensors", prompt));
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    // While it downloads (the server takes 300 ms over it), the queue says what the job waits for.
    let said: string | null = null;
    await until(async () => {
      const t = await api.get(ids[1]!);
      said = t.queue?.waiting_for ?? said;
      return said?.includes("being fetched") === true || t.status !== "PENDING";
    }, 20_000, "waiting_for naming the fetch");
    expect(said).toMatch(/^model tiny-c\.safetensors being fetched by /);
    const done = await Promise.all(ids.map((id) => api.waitFor(id, undefined, 60_000)));
    expect(done.map((t) => t.status)).toEqual(["SUCCESS", "SUCCESS"]);
    expect(files.gets("/tiny-c.safetensors")).toBe(1);
  });

  it("fails the waiting job with model_unavailable, naming the model and the reason, when the file does not match its sha256", async () => {
    const task = await runGraph(stack, api, sd15With("tiny-bad.safetensors", "bad pin"));
    expect(task.status).toBe("FAILURE");
    expect(task.error?.code).toBe("model_unavailable");
    expect(task.error?.message).toContain("tiny-bad.safetensors");
    expect(task.error?.message.toLowerCase()).toMatch(/sha256|checksum/);
    expect(existsSync(join(stack.sims[0]!.dirs.models, "checkpoints", "tiny-bad.safetensors"))).toBe(false);
  });
});

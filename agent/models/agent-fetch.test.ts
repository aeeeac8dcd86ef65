import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { makeBytes, sha256, startHub } from "../../install/testing/hub-server.ts";
import { AgentMessageSchema, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage, type FetchResult } from "../../shared/protocol.ts";
import { startSim } from "../../sim/server.ts";
import { startAgent } from "../main.ts";
import { CHECKPOINT, txt2img } from "../testing/graphs.ts";
import { TEST_TUNING } from "../testing/real-edge.ts";
import { until } from "../testing/until.ts";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A bare socket plays the edge: it welcomes the agent and sends the `fetch` frames a test asks
 * for, recording every frame the agent sends (the real edge's side of fetching is built apart).
 */
async function fakeEdge() {
  const received: AgentMessage[] = [];
  let socket: WebSocket | null = null;
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/agent/connect" });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("message", (data) => {
      const message = AgentMessageSchema.parse(JSON.parse(data.toString()));
      received.push(message);
      if (message.type !== "hello") return;
      const welcome: EdgeMessage = { type: "welcome", protocol: PROTOCOL_VERSION, agent_id: message.agent_id, lease_ttl_ms: 30_000, heartbeat_ms: 10_000 };
      ws.send(JSON.stringify(welcome));
    });
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    received,
    send: (m: EdgeMessage) => socket?.send(JSON.stringify(m)),
    result: async (id: string): Promise<FetchResult> => {
      const find = () => received.find((m): m is FetchResult => m.type === "fetch_result" && m.fetch_id === id);
      await until(`fetch_result ${id}`, () => find() !== undefined);
      return find() as FetchResult;
    },
  };
}

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "agent-fetch-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("the agent fetches a model the edge asks for into the sim's models folder; ComfyUI lists it; a small budget evicts the older one", async () => {
  const first = makeBytes(40_000);
  const second = makeBytes(40_000);
  const files = await startHub([], { "first.safetensors": first, "second.safetensors": second });
  cleanups.push(() => files.close());
  const dir = tempDir();
  const modelsDir = path.join(dir, "models");
  const sim = await startSim({ port: 0, stepMs: 2, modelsDir, inventory: { checkpoints: ["operator.safetensors"] } });
  cleanups.push(() => sim.close());
  const edge = await fakeEdge();
  const agent = await startAgent(
    { edgeUrl: edge.url, token: "t", comfyUrl: sim.url, agentId: "agt_fetch_test", stateDir: path.join(dir, "state"), modelsDir, modelsCacheBytes: 60_000, tuning: TEST_TUNING },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(() => agent.kill());
  await agent.connectedOnce();

  const hello = edge.received.find((m) => m.type === "hello");
  expect(hello).toMatchObject({ model_store: { budget_bytes: 60_000, fetched: [] }, inventory: { checkpoints: ["operator.safetensors"] } });
  const fetchOf = (fetch_id: string, name: string, bytes: Buffer): EdgeMessage => ({
    type: "fetch",
    fetch_id,
    model: { folder: "loras", name },
    url: `${files.origin}/${name}`,
    sha256: sha256(bytes),
    bytes: bytes.length,
  });

  edge.send(fetchOf("f1", "first.safetensors", first));
  const one = await edge.result("f1");
  expect(one).toMatchObject({ ok: true, bytes: first.length, model_store: { fetched: ["loras/first.safetensors"] } });
  expect(one.inventory?.loras).toEqual(["first.safetensors"]);
  const listed = await (await fetch(`${sim.url}/models/loras`)).json();
  expect(listed).toEqual(["first.safetensors"]);

  // 40 kB + 40 kB is over the 60 kB budget: the first goes (the operator's checkpoint never does).
  edge.send(fetchOf("f2", "second.safetensors", second));
  const two = await edge.result("f2");
  expect(two).toMatchObject({ ok: true, model_store: { fetched: ["loras/second.safetensors"] }, inventory: { loras: ["second.safetensors"] } });
  const evicted = edge.received.find((m) => m.type === "inventory" && m.model_store?.fetched.length === 0);
  expect(evicted).toBeDefined();
  expect(edge.received.indexOf(evicted as AgentMessage)).toBeLessThan(edge.received.indexOf(two));
  expect(existsSync(path.join(modelsDir, "loras/first.safetensors"))).toBe(false);
  expect(existsSync(path.join(modelsDir, "checkpoints/operator.safetensors"))).toBe(true);
});

test("an agent without a models folder says so in hello and refuses a fetch", async () => {
  const sim = await startSim({ port: 0, stepMs: 2 });
  cleanups.push(() => sim.close());
  const edge = await fakeEdge();
  const agent = await startAgent(
    { edgeUrl: edge.url, token: "t", comfyUrl: sim.url, agentId: "agt_fetch_none", stateDir: path.join(tempDir(), "state"), tuning: TEST_TUNING },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(() => agent.kill());
  await agent.connectedOnce();
  expect(edge.received.find((m) => m.type === "hello")).toMatchObject({ model_store: null });
  edge.send({ type: "fetch", fetch_id: "f1", model: { folder: "loras", name: "x.safetensors" }, url: "http://127.0.0.1:9/x.safetensors", sha256: null, bytes: null });
  expect(await edge.result("f1")).toMatchObject({ ok: false, error: { code: "refused" } });
});

test("a fetched model a held job uses is not evicted: the fetch that would need its room is disk_full until the job ends", async () => {
  const first = makeBytes(40_000);
  const second = makeBytes(40_000);
  const files = await startHub([], { "first.safetensors": first, "second.safetensors": second });
  cleanups.push(() => files.close());
  const dir = tempDir();
  const modelsDir = path.join(dir, "models");
  const sim = await startSim({ port: 0, stepMs: 50, modelsDir, inventory: { checkpoints: [CHECKPOINT] } });
  cleanups.push(() => sim.close());
  const edge = await fakeEdge();
  const agent = await startAgent(
    { edgeUrl: edge.url, token: "t", comfyUrl: sim.url, agentId: "agt_fetch_in_use", stateDir: path.join(dir, "state"), modelsDir, modelsCacheBytes: 60_000, tuning: TEST_TUNING },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(() => agent.kill());
  await agent.connectedOnce();
  const fetchOf = (fetch_id: string, name: string, bytes: Buffer): EdgeMessage => ({
    type: "fetch", fetch_id, model: { folder: "loras", name }, url: `${files.origin}/${name}`, sha256: sha256(bytes), bytes: bytes.length,
  });
  edge.send(fetchOf("f1", "first.safetensors", first));
  expect(await edge.result("f1")).toMatchObject({ ok: true });

  const lease = { job_id: "tsk_in_use", lease_id: "lse_in_use" };
  edge.send({
    type: "job", ...lease, attempt: 1, deadline: Date.now() + 60_000, graph: txt2img({ steps: 400 }),
    output_format: { type: "png", quality: 90 },
    upload: { base_url: "http://127.0.0.1:9/upload", exp: 0, sig: "x", max_files: 1, max_bytes: 1_000_000 },
    inputs: [], models: ["loras/first.safetensors"],
  });
  await until("the job runs", () => agent.jobs().some((j) => j.state === "running"));
  edge.send(fetchOf("f2", "second.safetensors", second));
  expect(await edge.result("f2")).toMatchObject({ ok: false, error: { code: "disk_full" }, model_store: { fetched: ["loras/first.safetensors"] } });
  expect(files.requests.filter((r) => r.path === "/second.safetensors")).toHaveLength(0);

  edge.send({ type: "cancel", ...lease });
  await until("the job has ended", () => agent.jobs().length === 0);
  edge.send(fetchOf("f3", "second.safetensors", second));
  expect(await edge.result("f3")).toMatchObject({ ok: true, model_store: { fetched: ["loras/second.safetensors"] } });
});

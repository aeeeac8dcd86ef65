import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import type { EdgeMessage } from "../shared/protocol.ts";
import { startSim } from "../sim/server.ts";
import { startAgent, type Agent } from "./main.ts";
import { startEdgePeer } from "./testing/edge-peer.ts";
import { CHECKPOINT, txt2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";
import { until } from "./testing/until.ts";

type SimFaults = NonNullable<Parameters<typeof startSim>[0]>["faults"];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOKEN = "agent-test-token";

async function setup(opts: { faults?: SimFaults; capacity?: number; prefetch?: number; graceMs?: number; token?: string; metricsPort?: number } = {}) {
  const sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] }, ...(opts.faults ? { faults: opts.faults } : {}) });
  cleanups.push(() => sim.close());
  const edge = await startEdgePeer({ token: TOKEN });
  cleanups.push(edge.close);
  const storage = await startFixtureServer();
  cleanups.push(storage.close);
  const agent: Agent = await startAgent(
    {
      edgeUrl: edge.url,
      token: opts.token ?? TOKEN,
      comfyUrl: sim.url,
      name: "test-rig",
      agentId: `agt_test_${Math.random().toString(36).slice(2)}`,
      capacity: opts.capacity ?? 1,
      prefetch: opts.prefetch ?? 0,
      graceMs: opts.graceMs ?? 5_000,
      metricsPort: opts.metricsPort ?? null,
      tuning: { pollMs: 25, reconnectMinMs: 10, reconnectMaxMs: 200, progressIntervalMs: 0, uploadMinMs: 1, stopWaitMs: 5_000, ackWaitMs: 200 },
    },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => {
    agent.kill();
  });
  const job = (id: string, graph = txt2img({ seed: id.length }), over: Partial<Extract<EdgeMessage, { type: "job" }>> = {}): EdgeMessage => ({
    type: "job",
    job_id: id,
    lease_id: `lease-${id}`,
    attempt: 1,
    deadline: Date.now() + 60_000,
    graph,
    output_format: { type: "png", quality: 90 },
    upload: { base_url: `${storage.url}/upload/${id}`, exp: 1_900_000_000, sig: "sig", max_files: 4, max_bytes: 10_000_000 },
    inputs: [],
    models: [CHECKPOINT],
    ...over,
  });
  return { sim, edge, storage, agent, job };
}

describe("startAgent with an edge peer and the sim", () => {
  test("says hello with the sim's inventory and GPU, then heartbeats", async () => {
    const { edge, agent } = await setup();
    await agent.connectedOnce();
    const hello = edge.hellos[0];
    expect(hello).toMatchObject({ protocol: 1, agent_id: agent.id, name: "test-rig", pool: "default", capacity: 1, prefetch: 0 });
    expect(hello?.inventory.checkpoints).toContain(CHECKPOINT);
    expect(hello?.gpu?.vram_total_mb).toBeGreaterThan(0);
    await until("a heartbeat", () => edge.of("heartbeat").length > 0);
    expect(edge.invalid).toEqual([]);
  });

  test("runs a job: progress, upload to the grant, complete with the stored key, then forgets it on ack", async () => {
    const { edge, agent, storage, job } = await setup({ metricsPort: 0 });
    await agent.connectedOnce();
    edge.send(job("j1"));
    await until("complete", () => edge.of("complete", "j1").length === 1);
    const complete = edge.of("complete", "j1")[0];
    expect(complete).toMatchObject({ lease_id: "lease-j1", prompt_id: expect.any(String), outputs: [{ key: "r2/upload/j1/0", content_type: "image/png", node_id: "9" }] });
    expect(storage.puts[0]?.body.byteLength).toBe(complete?.outputs[0]?.bytes);
    const phases = new Set(edge.of("progress", "j1").map((p) => p.phase));
    expect(phases.has("running") && phases.has("uploading")).toBe(true);
    expect(edge.of("progress", "j1").some((p) => p.step_name === "KSampler")).toBe(true);
    edge.send({ type: "ack", job_id: "j1", lease_id: "lease-j1", of: "complete" });
    await until("no held jobs", () => agent.jobs().length === 0);
    const metrics = await (await fetch(agent.metricsUrl as string)).text();
    expect(metrics).toContain("comfy_agent_jobs_completed_total 1");
    expect(edge.invalid).toEqual([]);
  });

  test("an execution error becomes a non-retryable fail with node details", async () => {
    const { edge, agent, job } = await setup({ faults: { errorRate: 1, seed: 5 } });
    await agent.connectedOnce();
    edge.send(job("bad"));
    await until("fail", () => edge.of("fail", "bad").length === 1);
    const fail = edge.of("fail", "bad")[0];
    expect(fail?.retryable).toBe(false);
    expect(fail?.error.code).toBe("execution_error");
    expect(fail?.error.node_id).toBeTruthy();
  });

  test("a model the rig lacks fails retryable as model_missing, so another rig can take it", async () => {
    const { edge, agent, job } = await setup();
    await agent.connectedOnce();
    const graph = txt2img();
    (graph["4"] as { inputs: Record<string, unknown> }).inputs.ckpt_name = "sdxl-not-here.safetensors";
    edge.send(job("m1", graph, { models: ["sdxl-not-here.safetensors"] }));
    await until("fail", () => edge.of("fail", "m1").length === 1);
    expect(edge.of("fail", "m1")[0]).toMatchObject({ retryable: true, error: { code: "model_missing" } });
  });

  test("cancel interrupts the running prompt and reports cancelled; stale leases are ignored", async () => {
    const { edge, agent, job } = await setup({ faults: { hangRate: 1, seed: 1 } });
    await agent.connectedOnce();
    edge.send(job("c1"));
    await until("running", () => agent.jobs()[0]?.state === "running");
    edge.send({ type: "cancel", job_id: "c1", lease_id: "some-old-lease" });
    edge.send({ type: "cancel", job_id: "c1", lease_id: "lease-c1" });
    await until("fail", () => edge.of("fail", "c1").length === 1);
    expect(edge.of("fail", "c1")[0]).toMatchObject({ retryable: false, error: { code: "cancelled" } });
    await until("slot free", () => agent.jobs().length === 0);
  });

  test("with prefetch, the second job waits in ComfyUI's queue as phase queued, and both complete", async () => {
    const { edge, agent, job } = await setup({ prefetch: 1 });
    await agent.connectedOnce();
    edge.send(job("p1", txt2img({ seed: 1, steps: 30 })));
    edge.send(job("p2", txt2img({ seed: 2, steps: 5 })));
    await until("both complete", () => edge.of("complete").length === 2);
    expect(edge.of("progress", "p2")[0]?.phase).toBe("queued");
    expect(edge.of("release")).toEqual([]);
  });

  test("a job beyond capacity + prefetch is released at once", async () => {
    const { edge, agent, job } = await setup({ faults: { hangRate: 1, seed: 1 } });
    await agent.connectedOnce();
    edge.send(job("h1"));
    edge.send(job("h2"));
    await until("release", () => edge.of("release", "h2").length === 1);
    expect(agent.jobs().map((j) => j.job_id)).toEqual(["h1"]);
  });

  test("stop drains: pause, release the queued job, fail the running one after the grace, then done", async () => {
    const { edge, agent, job, sim } = await setup({ faults: { hangRate: 1, seed: 1 }, prefetch: 1, graceMs: 100 });
    await agent.connectedOnce();
    edge.send(job("d1"));
    await until("running", () => agent.jobs().some((j) => j.state === "running"));
    edge.send(job("d2"));
    await until("queued", () => agent.jobs().some((j) => j.job_id === "d2" && j.state === "queued"));
    await agent.stop();
    await agent.done;
    expect(edge.of("pause")).toHaveLength(1);
    expect(edge.of("release", "d2")).toHaveLength(1);
    expect(edge.of("fail", "d1")[0]).toMatchObject({ retryable: true, error: { code: "agent_shutdown" } });
    const q = (await (await fetch(`${sim.url}/queue`)).json()) as { queue_running: unknown[]; queue_pending: unknown[] };
    expect(q.queue_running.length + q.queue_pending.length).toBe(0);
  });

  test("a drain message from the edge stops the agent", async () => {
    const { edge, agent, job } = await setup();
    await agent.connectedOnce();
    edge.send({ type: "drain", reason: "deploy" });
    await agent.done;
    expect(edge.of("pause")).toHaveLength(1);
    edge.send(job("late"));
    expect(edge.of("complete")).toEqual([]);
  });

  test("reconnects after the edge drops the socket, saying hello again", async () => {
    const { edge, agent, job } = await setup();
    await agent.connectedOnce();
    edge.drop();
    await until("second hello", () => edge.hellos.length === 2);
    await agent.connectedOnce();
    edge.send(job("r1"));
    await until("complete", () => edge.of("complete", "r1").length === 1);
  });

  test("a result finished while the edge was away is sent after the next welcome, and again until acked", async () => {
    const { edge, agent, job } = await setup();
    await agent.connectedOnce();
    edge.send(job("away", txt2img({ steps: 60 })));
    await until("running", () => agent.jobs()[0]?.state === "running");
    edge.holdWelcome = true;
    edge.drop();
    await until("hello waiting", () => edge.helloWaiting);
    await until("job finished offline", () => agent.jobs().length === 0);
    expect(edge.of("complete", "away")).toEqual([]);
    edge.releaseWelcome();
    await until("complete after welcome", () => edge.of("complete", "away").length === 1);
    edge.drop();
    await until("complete again after the next welcome", () => edge.of("complete", "away").length === 2);
    edge.send({ type: "ack", job_id: "away", lease_id: "lease-away", of: "complete" });
    edge.drop();
    await until("third hello", () => edge.hellos.length === 4);
    await agent.connectedOnce();
    expect(edge.of("complete", "away")).toHaveLength(2);
  });

  test("invalid frames are ignored and the agent keeps working", async () => {
    const { edge, agent, job } = await setup();
    await agent.connectedOnce();
    edge.send("not json");
    edge.send(JSON.stringify({ type: "job", job_id: "x" }));
    edge.send(JSON.stringify({ type: "surprise" }));
    edge.send(job("ok1"));
    await until("complete", () => edge.of("complete", "ok1").length === 1);
    expect(edge.of("fail")).toEqual([]);
  });

  test("a refused token keeps the agent retrying, never connected, until stopped", async () => {
    const { edge, agent } = await setup({ token: "wrong" });
    await until("two refusals", () => edge.refusals >= 2);
    expect(agent.connected).toBe(false);
    await agent.stop();
  });
});

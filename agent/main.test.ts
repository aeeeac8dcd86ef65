import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { decodePng, TERMINAL } from "../e2e/helpers.ts";
import type { TaskView } from "../shared/api.ts";
import { startSim, type SimFaults } from "../sim/server.ts";
import { CHECKPOINT } from "./testing/graphs.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";
import { startTcpProxy } from "./testing/tcp-proxy.ts";
import { until } from "./testing/until.ts";

const ended = (t: TaskView) => TERMINAL.includes(t.status);
const running = (t: TaskView) => t.status === "PROGRESS";

// One real edge for the file; every test cancels what it submitted, so no agent runs another test's job.
let edge: EdgeUnderTest;
beforeAll(async () => {
  edge = await startEdgeUnderTest({ vars: { LEASE_TTL_MS: "10000" } });
});
afterAll(async () => edge?.close());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await edge.cancelSubmitted();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { faults?: SimFaults; stepMs?: number; capacity?: number; prefetch?: number; graceMs?: number; token?: string; edgeUrl?: string; metricsPort?: number } = {}) {
  const sim = await startSim({ port: 0, stepMs: opts.stepMs ?? 2, ...(opts.faults ? { faults: opts.faults } : {}) });
  cleanups.push(() => sim.close());
  const agent = await startTestAgent({
    edgeUrl: opts.edgeUrl ?? edge.edge.url,
    token: opts.token ?? edge.keys.agent,
    comfyUrl: sim.url,
    capacity: opts.capacity ?? 1,
    prefetch: opts.prefetch ?? 0,
    graceMs: opts.graceMs ?? 5_000,
    metricsPort: opts.metricsPort ?? null,
  });
  cleanups.push(async () => agent.kill());
  return { sim, agent };
}

describe("startAgent against the real edge and the sim", () => {
  test("says hello with the sim's inventory and GPU, then heartbeats", async () => {
    const { agent } = await setup();
    await agent.connectedOnce();
    const seen = await edge.agent(agent.id);
    expect(seen).toMatchObject({ name: "test-rig", pool: "default", capacity: 1, prefetch: 0, connected: true, accepting: true, jobs: [] });
    expect(seen?.inventory.checkpoints).toContain(CHECKPOINT);
    expect(seen?.gpu?.vram_total_mb).toBeGreaterThan(0);
    await until("a heartbeat after the hello", async () => ((await edge.agent(agent.id))?.last_heartbeat ?? "") > (seen?.last_heartbeat ?? "~"));
  });

  test("runs a job: progress on the task's feed, the PNG uploaded under the edge's grant, SUCCESS on the first attempt", async () => {
    // Submitted before the agent exists, so the feed is open before the first progress.
    const id = await edge.submit({ steps: 8, width: 96, height: 64 });
    const feed = await edge.watch(id);
    cleanups.push(async () => feed.close());
    const { agent } = await setup({ stepMs: 10, metricsPort: 0 });
    const done = await edge.waitFor(id, ended, "finished");
    await until("the feed's last state", () => feed.events.some((e) => e.type === "state" && e.task.state === "succeeded"));
    expect(done).toMatchObject({ status: "SUCCESS", attempts: 1, error: null });
    const [output] = done.result?.outputs ?? [];
    expect(output).toMatchObject({ content_type: "image/png", node_id: "9" });
    const png = await fetch(output?.url ?? "");
    const bytes = new Uint8Array(await png.arrayBuffer());
    expect(bytes.byteLength).toBe(output?.bytes);
    expect(decodePng(bytes)).toEqual({ width: 96, height: 64 });
    const states = feed.events.flatMap((e) => (e.type === "state" ? [e.task.state] : []));
    expect(states).toContain("running");
    expect(states.at(-1)).toBe("succeeded");
    expect(feed.events.some((e) => e.type === "progress" && e.progress.step_name === "KSampler")).toBe(true);
    await until("no held jobs", () => agent.jobs().length === 0);
    const metrics = await (await fetch(agent.metricsUrl as string)).text();
    expect(metrics).toContain("comfy_agent_jobs_completed_total 1");
  });

  test("an execution error ends the task as FAILURE with node details, without a retry", async () => {
    await setup({ faults: { errorRate: 1, seed: 5 } });
    const id = await edge.submit();
    const done = await edge.waitFor(id, ended, "finished");
    expect(done).toMatchObject({ status: "FAILURE", attempts: 1, error: { code: "execution_error" } });
    expect(done.error?.node_id).toBeTruthy();
  });

  test("a model the rig announced but has lost fails retryable as model_missing, and the edge stops routing it here", async () => {
    const { agent, sim } = await setup();
    await agent.connectedOnce();
    expect(sim.removeModel("add_detail.safetensors")).toBe(true);
    const id = await edge.submit({ lora: "add_detail.safetensors" });
    const waiting = await edge.waitFor(id, (t) => t.error?.code === "model_missing" && t.state === "queued", "back in the queue");
    expect(waiting).toMatchObject({ status: "PENDING", attempts: 1 });
    expect(JSON.stringify(waiting.error?.details)).toContain("value_not_in_list");
    expect(waiting.queue?.waiting_for).toContain("add_detail.safetensors");
    expect(agent.metrics.jobsFailed.get("model_missing")).toBe(1);
    await edge.api.cancel(id);
  });

  test("a client's cancel interrupts ComfyUI, the agent's report is acknowledged, and the slot is free again", async () => {
    const { agent, sim } = await setup({ faults: { hangRate: 1, seed: 1 } });
    const id = await edge.submit();
    await edge.waitFor(id, running, "running");
    const staleBefore = await edge.counter("stale_messages");
    expect((await edge.api.cancel(id)).status).toBe(200);
    await until("ComfyUI interrupted", () => sim.stats().interruptsReceived > 0);
    await until("the slot freed", () => agent.jobs().length === 0);
    sim.setFaults({ hangRate: 0 });
    const next = await edge.submit();
    expect(await edge.waitFor(next, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
    expect(await edge.task(id)).toMatchObject({ status: "CANCELLED", error: { code: "cancelled" } });
    expect(agent.metrics.jobsFailed.get("cancelled")).toBe(1);
    expect(await edge.counter("stale_messages")).toBe(staleBefore);
  });

  test("with prefetch, a second job waits in ComfyUI's queue while the first runs, and both complete", async () => {
    const { agent, sim } = await setup({ prefetch: 1, stepMs: 20 });
    await agent.connectedOnce();
    const first = await edge.submit({ steps: 60 });
    await edge.waitFor(first, running, "running");
    const second = await edge.submit({ steps: 3 });
    for (const id of [first, second]) expect(await edge.waitFor(id, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
    const [a, b] = sim.stats().executions;
    expect(b?.received_at).toBeLessThan(a?.ended_at ?? 0);
    expect(agent.metrics.jobsReleased).toBe(0);
  });

  test("stop drains: pause, hand back the queued job, fail the running one after the grace, then done", async () => {
    const { agent, sim } = await setup({ faults: { hangRate: 1, seed: 1 }, prefetch: 1, graceMs: 100 });
    const first = await edge.submit();
    await edge.waitFor(first, running, "running");
    const second = await edge.submit();
    await until("the second job queued in ComfyUI", () => agent.jobs().some((j) => j.job_id === second && j.state === "queued"));
    await agent.stop();
    await agent.done;
    expect(await edge.task(first)).toMatchObject({ state: "queued", attempts: 1, error: { code: "agent_shutdown" } });
    // A release is not an attempt; and paused, the agent was never offered it again.
    expect(await edge.task(second)).toMatchObject({ state: "queued", attempts: 0 });
    expect(agent.metrics.jobsReleased).toBe(1);
    const q = (await (await fetch(`${sim.url}/queue`)).json()) as { queue_running: unknown[]; queue_pending: unknown[] };
    expect(q.queue_running.length + q.queue_pending.length).toBe(0);
    await until("the edge forgot the agent", async () => (await edge.agent(agent.id)) === undefined);
  });

  test("a refused token keeps the agent retrying, never connected, until stopped", async () => {
    const proxy = await startTcpProxy(edge.edge.url);
    cleanups.push(() => proxy.close());
    const { agent } = await setup({ edgeUrl: proxy.url, token: "not-a-key-of-this-edge-000" });
    await until("two refused attempts", () => proxy.attempts >= 2);
    expect(agent.connected).toBe(false);
    expect(await edge.agent(agent.id)).toBeUndefined();
    await agent.stop();
  });
});

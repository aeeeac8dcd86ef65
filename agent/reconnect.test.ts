import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { TERMINAL } from "../e2e/helpers.ts";
import type { TaskView } from "../shared/api.ts";
import { startSim } from "../sim/server.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";
import { startTcpProxy } from "./testing/tcp-proxy.ts";
import { until } from "./testing/until.ts";

const ended = (t: TaskView) => TERMINAL.includes(t.status);
const running = (t: TaskView) => t.status === "PROGRESS";

// Leases long enough that a cut-off agent keeps them: these tests are about reconnecting, not expiry.
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

/** An agent that reaches the edge through a TCP relay the test can cut. */
async function setup(opts: { stepMs?: number } = {}) {
  const sim = await startSim({ port: 0, stepMs: opts.stepMs ?? 2 });
  cleanups.push(() => sim.close());
  const proxy = await startTcpProxy(edge.edge.url);
  cleanups.push(() => proxy.close());
  const agent = await startTestAgent({ edgeUrl: proxy.url, token: edge.keys.agent, comfyUrl: sim.url });
  cleanups.push(async () => agent.kill());
  await agent.connectedOnce();
  const connectedAt = async () => (await edge.agent(agent.id))?.connected_at;
  return { sim, proxy, agent, connectedAt };
}

test("after a network cut the agent says hello again, keeps its running job's lease, and resends nothing already acked", async () => {
  const { sim, proxy, agent, connectedAt } = await setup();
  const first = await edge.submit();
  expect(await edge.waitFor(first, ended, "finished")).toMatchObject({ status: "SUCCESS" });
  sim.setFaults({ hangRate: 1, seed: 1 });
  const second = await edge.submit();
  // The edge sent this job after the first one's ack, on the same socket: that ack has arrived.
  await edge.waitFor(second, running, "running");
  const staleBefore = await edge.counter("stale_messages");
  const helloBefore = await connectedAt();
  proxy.cut();
  await until("a second hello", async () => agent.connected && (await connectedAt()) !== helloBefore);
  const helloAfter = (await connectedAt()) ?? "";
  await until("a heartbeat on the new connection", async () => ((await edge.agent(agent.id))?.last_heartbeat ?? "") > helloAfter);
  expect(await edge.task(second)).toMatchObject({ status: "PROGRESS", attempts: 1 });
  expect(await edge.counter("stale_messages")).toBe(staleBefore);
});

test("a result finished while the edge was unreachable is sent after the next welcome and completes the task", async () => {
  const { proxy, agent } = await setup({ stepMs: 20 });
  const id = await edge.submit({ steps: 40 });
  await edge.waitFor(id, running, "running");
  proxy.refuse(true);
  proxy.cut();
  await until("the job finished offline", () => agent.jobs().length === 0);
  expect(await edge.task(id)).toMatchObject({ status: "PROGRESS", result: null });
  proxy.refuse(false);
  const done = await edge.waitFor(id, ended, "finished");
  expect(done).toMatchObject({ status: "SUCCESS", attempts: 1 });
  expect(done.result?.outputs).toHaveLength(1);
});

test("a result whose ack was lost goes again after the next welcome; the edge acknowledges the copy and applies it once", async () => {
  const { proxy, agent } = await setup({ stepMs: 20 });
  const id = await edge.submit({ steps: 40 });
  await edge.waitFor(id, running, "running");
  proxy.muteServer();
  const done = await edge.waitFor(id, ended, "finished");
  expect(done.status).toBe("SUCCESS");
  const staleBefore = await edge.counter("stale_messages");
  proxy.cut();
  await until("the agent reconnected", () => agent.connected);
  // Work flows on the new connection; the resent copy was acknowledged, not refused as stale.
  const next = await edge.submit();
  expect(await edge.waitFor(next, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
  expect(await edge.counter("stale_messages")).toBe(staleBefore);
  const after = await edge.task(id);
  expect(after).toMatchObject({ status: "SUCCESS", attempts: 1 });
  expect(after.result?.outputs.map((o) => o.filename)).toEqual(done.result?.outputs.map((o) => o.filename));
  expect(agent.jobs()).toEqual([]);
});

test("invalid frames on the edge's socket are ignored and the agent keeps working on the same connection", async () => {
  const { proxy, agent, connectedAt } = await setup();
  const helloBefore = await connectedAt();
  proxy.injectText("not json");
  proxy.injectText(JSON.stringify({ type: "job", job_id: "x" }));
  proxy.injectText(JSON.stringify({ type: "surprise" }));
  const id = await edge.submit();
  expect(await edge.waitFor(id, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
  expect(agent.connected).toBe(true);
  expect(await connectedAt()).toBe(helloBefore);
  expect(agent.metrics.jobsFailed.size).toBe(0);
});

test("rides out an edge restart: reconnects on its own and the restarted edge, with its state, leases it work", async () => {
  const persistDir = await mkdtemp(join(tmpdir(), "agent-edge-restart-"));
  cleanups.push(() => rm(persistDir, { recursive: true, force: true }));
  let current = await startEdgeUnderTest({ persistDir });
  cleanups.push(() => current.close());
  const sim = await startSim({ port: 0, stepMs: 2 });
  cleanups.push(() => sim.close());
  const agent = await startTestAgent({ edgeUrl: current.edge.url, token: current.keys.agent, comfyUrl: sim.url });
  cleanups.push(async () => agent.kill());
  const before = await current.submit();
  expect(await current.waitFor(before, ended, "finished")).toMatchObject({ status: "SUCCESS" });

  await current.close();
  await until("the agent noticed", () => !agent.connected);
  current = await startEdgeUnderTest({ persistDir, port: current.edge.port, keys: current.keys });
  await until("reconnected", () => agent.connected);
  expect(await current.agent(agent.id)).toMatchObject({ connected: true, accepting: true });
  expect(await current.task(before)).toMatchObject({ status: "SUCCESS" });
  const after = await current.submit();
  expect(await current.waitFor(after, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
});

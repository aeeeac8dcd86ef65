import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { TERMINAL } from "../e2e/helpers.ts";
import type { TaskView } from "../shared/api.ts";
import { startSim } from "../sim/server.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";
import { startTcpProxy } from "./testing/tcp-proxy.ts";
import { until } from "./testing/until.ts";

const LEASE_TTL_MS = 1_500;
const ended = (t: TaskView) => TERMINAL.includes(t.status);
const running = (t: TaskView) => t.status === "PROGRESS";

// Short leases, so that an agent cut off from the edge loses its job within the test.
let edge: EdgeUnderTest;
beforeAll(async () => {
  edge = await startEdgeUnderTest({ vars: { LEASE_TTL_MS: String(LEASE_TTL_MS) } });
});
afterAll(async () => edge?.close());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await edge.cancelSubmitted();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An agent whose prompts hang in the sim until interrupted, reaching the edge through a relay. */
async function setup() {
  const sim = await startSim({ port: 0, stepMs: 2, faults: { hangRate: 1, seed: 1 } });
  cleanups.push(() => sim.close());
  const proxy = await startTcpProxy(edge.edge.url);
  cleanups.push(() => proxy.close());
  const agent = await startTestAgent({ edgeUrl: proxy.url, token: edge.keys.agent, comfyUrl: sim.url });
  cleanups.push(async () => agent.kill());
  await agent.connectedOnce();
  return { sim, proxy, agent };
}

test("heartbeats keep a running job's lease well past its TTL", async () => {
  const { agent } = await setup();
  const id = await edge.submit();
  await edge.waitFor(id, running, "running");
  const firstExpiry = (await edge.agent(agent.id))?.jobs[0]?.lease_expires ?? 0;
  expect(firstExpiry).toBeGreaterThan(0);
  await sleep(Math.max(0, firstExpiry + 2 * LEASE_TTL_MS - Date.now()));
  expect(await edge.task(id)).toMatchObject({ status: "PROGRESS", attempts: 1, error: null });
  expect((await edge.agent(agent.id))?.jobs[0]?.lease_expires).toBeGreaterThan(firstExpiry);
});

test("cut off past its lease, the agent comes back to a slot the edge thinks free: it hands back the new job, stops the stale lease on the edge's cancel, then runs the new job", async () => {
  const { sim, proxy, agent } = await setup();
  const stale = await edge.submit();
  await edge.waitFor(stale, running, "running");
  proxy.refuse(true);
  proxy.cut();
  expect(await edge.waitFor(stale, (t) => t.state === "queued", "requeued after its lease expired")).toMatchObject({ attempts: 1, error: { code: "lease_expired" } });
  expect((await edge.api.cancel(stale)).status).toBe(200);
  expect(agent.jobs().map((j) => j.state)).toEqual(["running"]);
  sim.setFaults({ hangRate: 0 });
  const next = await edge.submit();
  const staleBefore = await edge.counter("stale_messages");

  proxy.refuse(false);
  expect(await edge.waitFor(next, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
  // Offered at the welcome while the old prompt still held the agent's only slot.
  expect(agent.metrics.jobsReleased).toBeGreaterThanOrEqual(1);
  // The edge refused the old lease's heartbeat with a cancel, then acknowledged its cancelled report.
  expect(await edge.counter("stale_messages")).toBeGreaterThanOrEqual(staleBefore + 1);
  expect(sim.stats().interruptsReceived).toBeGreaterThanOrEqual(1);
  expect(agent.metrics.jobsFailed.get("cancelled")).toBe(1);
  expect(await edge.task(stale)).toMatchObject({ status: "CANCELLED", attempts: 1 });
  await until("nothing held", () => agent.jobs().length === 0);
});

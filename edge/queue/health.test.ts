import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JobMessage } from "../../shared/protocol.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import { agentListing, drainDefaultPool, keepAlive, metric, succeed, task } from "../test/queue-driver.ts";

const open: TestAgent[] = [];
const stops: (() => void)[] = [];
async function agent(held: JobMessage[] = []): Promise<TestAgent> {
  const a = await TestAgent.connect();
  open.push(a);
  a.hello({ capacity: 1 });
  await a.next("welcome");
  // Alive throughout, renewing what it holds.
  stops.push(keepAlive(a, () => held.map((j) => ({ job_id: j.job_id, lease_id: j.lease_id }))));
  return a;
}

beforeEach(drainDefaultPool);
afterEach(async () => {
  while (stops.length) stops.pop()!();
  while (open.length) open.pop()!.close();
  await drainDefaultPool();
});

const failRetryably = (a: TestAgent, j: JobMessage) =>
  a.send({ type: "fail", job_id: j.job_id, lease_id: j.lease_id, retryable: true, error: { code: "comfyui_error", message: "CUDA error: an illegal memory access was encountered" } });

/**
 * A healthy agent holds one job (so it is busy, with a clean record); a broken one fails the
 * next job on every attempt until it is quarantined. Returns the agents and the broken rig's job.
 */
async function brokenBesideHealthy() {
  const healthyHolds: JobMessage[] = [];
  const healthy = await agent(healthyHolds);
  const busy = await submit({ prompt: "keeps the healthy rig busy" }, "alice", { priority: 90 });
  healthyHolds.push(await healthy.next("job", 5000, (j) => j.job_id === busy.body.task_id));
  const broken = await agent();
  const { body } = await submit({ prompt: "lands on the broken rig" }, "alice", { priority: 90 });
  for (let attempt = 1; attempt <= 3; attempt++) {
    // Each retry comes back on the broken rig's next heartbeat (the healthy one has no room).
    const j = await broken.next("job", 5000, (m) => m.job_id === body.task_id);
    failRetryably(broken, j);
    await broken.next("ack", 5000, (m) => m.lease_id === j.lease_id);
  }
  return { healthy, healthyHolds, broken, taskId: body.task_id };
}

describe("rig health and quarantine", () => {
  it("quarantines a rig after 3 retryable failures in a row while another agent is clean; the job does not use up its attempts there", async () => {
    const before = await metric("comfy_edge_quarantines_total");
    const { healthy, healthyHolds, broken, taskId } = await brokenBesideHealthy();
    // Three attempts failed on the broken rig, yet the job is queued, not FAILED: the third was
    // refunded, and the first two were given back when the rig was quarantined.
    expect(await task(taskId)).toMatchObject({ state: "queued", attempts: 0 });
    // The healthy agent finishes its job, then runs this one to SUCCESS.
    await succeed(healthy, healthyHolds.pop()!);
    await succeed(healthy, await healthy.next("job", 5000, (m) => m.job_id === taskId));
    expect(await task(taskId)).toMatchObject({ status: "SUCCESS", attempts: 1 });

    const listed = await agentListing(broken.id);
    expect(listed).toMatchObject({ health: "quarantined", quarantines: 1 });
    expect(listed!.health_reason).toContain("3 retryable failures in a row");
    expect(listed!.health_reason).toContain("comfyui_error");
    expect(Date.parse(listed!.health_since)).toBeGreaterThan(0);
    expect(Date.parse(listed!.quarantine_until)).toBeGreaterThan(Date.parse(listed!.health_since));
    expect(listed!.recent_outcomes).toEqual(["retryable_failure", "retryable_failure", "retryable_failure"]);
    expect(await agentListing(healthy.id)).toMatchObject({ health: "ok", health_reason: null, recent_outcomes: ["success", "success"] });
    expect(await metric("comfy_edge_quarantines_total")).toBe(before + 1);
  });

  it("gives a quarantined rig no work during its back-off, then one probe job; the probe's success lifts the quarantine", async () => {
    const { healthy, healthyHolds, broken, taskId } = await brokenBesideHealthy();
    expect(await metric("comfy_edge_agents_quarantined")).toBeGreaterThanOrEqual(1);
    const until = Date.parse((await agentListing(broken.id))!.quarantine_until);
    // The healthy agent stays busy, so the queued job waits for the broken rig's probe slot.
    const probe = await broken.next("job", 10_000, (m) => m.job_id === taskId);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(await agentListing(broken.id)).toMatchObject({ health: "quarantined", probe: "running" });
    const second = await submit({ prompt: "after the probe" }, "bob", { priority: 90 });
    // One probe at a time: the next job waits.
    expect((await task(second.body.task_id)).state).toBe("queued");
    await succeed(broken, probe);
    expect(await task(taskId)).toMatchObject({ status: "SUCCESS", attempts: 1 });
    expect(await agentListing(broken.id)).toMatchObject({ health: "ok", health_reason: null, probe: null });
    await succeed(broken, await broken.next("job", 5000, (m) => m.job_id === second.body.task_id));
    expect((await task(second.body.task_id)).status).toBe("SUCCESS");
    await succeed(healthy, healthyHolds.pop()!);
  });

  it("a failed probe quarantines the rig again with a longer back-off, and costs the job nothing", async () => {
    const { broken, taskId } = await brokenBesideHealthy();
    const first = (await agentListing(broken.id))!;
    const firstWait = Date.parse(first.quarantine_until) - Date.parse(first.health_since);
    const probe = await broken.next("job", 10_000, (m) => m.job_id === taskId);
    failRetryably(broken, probe);
    await broken.next("ack", 5000, (m) => m.lease_id === probe.lease_id);
    const again = (await agentListing(broken.id))!;
    expect(again).toMatchObject({ health: "quarantined", quarantines: 2 });
    expect(again.health_reason).toContain("probe");
    // The second back-off starts after the first ended and is twice as long.
    expect(Date.parse(again.quarantine_until) - Date.parse(first.quarantine_until)).toBeGreaterThanOrEqual(2 * firstWait);
    expect(await task(taskId)).toMatchObject({ state: "queued", attempts: 0 });
  });

  it("an admin lifts a quarantine with POST /agents/{id}/release; the rig takes work again", async () => {
    const { broken, taskId } = await brokenBesideHealthy();
    expect((await call("POST", `/agents/${broken.id}/release`, "alice")).status).toBe(403);
    const res = await call("POST", `/agents/${broken.id}/release`, "admin");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ agent_id: broken.id, health: "ok" });
    expect(await agentListing(broken.id)).toMatchObject({ health: "ok", quarantines: 0, health_reason: null });
    await succeed(broken, await broken.next("job", 5000, (m) => m.job_id === taskId));
    expect((await task(taskId)).status).toBe("SUCCESS");
    expect((await call("POST", "/agents/no-such-agent/release", "admin")).status).toBe(404);
    const doc = (await (await call("GET", "/openapi.json", "none")).json()) as Record<string, any>;
    expect(doc.paths["/agents/{id}/release"].post.tags).toEqual(["ops"]);
  });
});

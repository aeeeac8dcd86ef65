import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLOSE } from "../../shared/protocol.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { submit } from "../test/http.ts";
import { agentListing, drainDefaultPool, keepAlive, metric, succeed, task } from "../test/queue-driver.ts";

const open: TestAgent[] = [];
const stops: (() => void)[] = [];
async function agent(capacity = 1): Promise<TestAgent> {
  const a = await TestAgent.connect();
  open.push(a);
  a.hello({ capacity });
  await a.next("welcome");
  return a;
}
function beating(a: TestAgent, leases: Parameters<typeof keepAlive>[1] = () => []): void {
  stops.push(keepAlive(a, leases));
}

beforeEach(drainDefaultPool);
afterEach(async () => {
  while (stops.length) stops.pop()!();
  while (open.length) open.pop()!.close();
  await drainDefaultPool();
});

describe("liveness: frames received, not an open socket", () => {
  it("a silent agent (socket open, no frames) is closed and its job goes to another idle agent, no FAILURE", async () => {
    const silent = await agent();
    const { body } = await submit({ prompt: "frozen rig" }, "alice", { priority: 90 });
    const first = await silent.next("job", 5000, (j) => j.job_id === body.task_id);
    expect(first.attempt).toBe(1);
    const silentBefore = await metric("comfy_edge_silent_agents_total");

    // A healthy agent joins and keeps heartbeating; the first one sends nothing from now on.
    const healthy = await agent();
    beating(healthy);
    const moved = await healthy.next("job", 10_000, (j) => j.job_id === body.task_id);
    expect(moved.attempt).toBe(2);
    expect((await silent.waitClosed(5000)).code).toBe(CLOSE.silent);
    // The silent agent never got the job back.
    expect(silent.received.filter((m) => m.type === "job" && m.job_id === body.task_id)).toHaveLength(0);

    await succeed(healthy, moved);
    const t = await task(body.task_id);
    expect(t.status).toBe("SUCCESS");
    expect(t.attempts).toBe(2);
    expect((await agentListing(silent.id))?.connected ?? false).toBe(false);
    expect(await metric("comfy_edge_silent_agents_total")).toBeGreaterThan(silentBefore);
  });

  it("an idle agent that stops sending frames is closed as silent; heartbeats keep an idle one connected", async () => {
    const quiet = await agent();
    const chatty = await agent();
    beating(chatty);
    expect((await quiet.waitClosed(10_000)).code).toBe(CLOSE.silent);
    expect(chatty.closed).toBeNull();
    expect((await agentListing(chatty.id))?.connected).toBe(true);
  });

  it("an expired lease goes to another idle agent, not back to the live agent that let it expire", async () => {
    // The first agent is alive (heartbeats) but never renews the job's lease: it lets it expire.
    const lax = await agent();
    beating(lax);
    const { body } = await submit({ prompt: "dropped lease" }, "alice", { priority: 90 });
    const first = await lax.next("job", 5000, (j) => j.job_id === body.task_id);
    // Registered after it, so without the rule the dispatcher would try the lax agent first.
    const other = await agent();
    beating(other);
    const moved = await other.next("job", 10_000, (j) => j.job_id === body.task_id);
    expect(moved.attempt).toBe(2);
    expect(lax.received.filter((m) => m.type === "job" && m.job_id === body.task_id)).toHaveLength(0);
    expect(lax.closed).toBeNull();
    await succeed(other, moved);
    expect((await task(body.task_id)).status).toBe("SUCCESS");
    expect(first.lease_id).not.toBe(moved.lease_id);
  });

  it("a silent agent gets its expired job back only after it reconnects and says hello", async () => {
    const a = await agent();
    const { body } = await submit({ prompt: "comes back" }, "alice", { priority: 90 });
    await a.next("job", 5000, (j) => j.job_id === body.task_id);
    expect((await a.waitClosed(10_000)).code).toBe(CLOSE.silent);
    await expect.poll(async () => (await task(body.task_id)).state, { timeout: 10_000, interval: 100 }).toBe("queued");

    const back = await TestAgent.connect({ id: a.id });
    open.push(back);
    back.hello();
    await back.next("welcome");
    const again = await back.next("job", 5000, (j) => j.job_id === body.task_id);
    expect(again.attempt).toBe(2);
    await succeed(back, again);
    expect((await task(body.task_id)).status).toBe("SUCCESS");
  });
});

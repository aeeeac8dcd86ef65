import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLOSE } from "../../shared/protocol.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { OTHER_AGENT_KEY } from "../test/bindings.ts";
import { submit } from "../test/http.ts";
import { agentListing, drainDefaultPool, task } from "../test/queue-driver.ts";

const open: TestAgent[] = [];
async function connect(opts: Parameters<typeof TestAgent.connect>[0] = {}): Promise<TestAgent> {
  const a = await TestAgent.connect(opts);
  open.push(a);
  return a;
}

beforeEach(drainDefaultPool);
afterEach(async () => {
  while (open.length) open.pop()!.close();
  await drainDefaultPool();
});

describe("agent identity is bound to its key", () => {
  it("another agent key cannot take over (close) an agent id; the same key still replaces its own connection", async () => {
    const id = `rig-${crypto.randomUUID()}`;
    const owner = await connect({ id });
    owner.hello();
    await owner.next("welcome");

    const intruder = await connect({ id, key: OTHER_AGENT_KEY });
    intruder.hello({ capacity: 8 });
    const refused = await intruder.next("error");
    expect(refused.code).toBe("agent_id_taken");
    expect((await intruder.waitClosed()).code).toBe(CLOSE.identityTaken);
    expect(owner.closed).toBeNull();
    expect(await agentListing(id)).toMatchObject({ connected: true, capacity: 1 });
    // The owner's connection still works: it gets work.
    const { body } = await submit({ prompt: "still mine" }, "alice", { priority: 90 });
    expect((await owner.next("job", 5000, (j) => j.job_id === body.task_id)).job_id).toBe(body.task_id);

    const again = await connect({ id });
    again.hello();
    await again.next("welcome");
    expect((await owner.waitClosed()).code).toBe(CLOSE.replaced);
  });

  it("an id no queue holds any more is free for any agent key", async () => {
    const id = `rig-${crypto.randomUUID()}`;
    const first = await connect({ id });
    first.hello();
    await first.next("welcome");
    first.close();
    await expect.poll(async () => (await agentListing(id)) === undefined, { timeout: 5000, interval: 50 }).toBe(true);
    const other = await connect({ id, key: OTHER_AGENT_KEY });
    other.hello();
    await other.next("welcome");
    expect(other.closed).toBeNull();
  });
});

describe("progress values are bounded", () => {
  it("refuses progress with value > max (a protocol error) and records nothing", async () => {
    const a = await connect();
    a.hello();
    await a.next("welcome");
    const { body } = await submit({ prompt: "bounded progress" }, "alice", { priority: 90 });
    const job = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 11, max: 10 });
    const e = await a.next("error");
    expect(e.code).toBe("invalid_frame");
    expect(e.message).toContain("value");
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: -1, max: 10 });
    expect((await a.next("error")).code).toBe("invalid_frame");
    const t = await task(body.task_id);
    expect(t.state).toBe("leased");
    expect(t.progress).toBeNull();
    // In bounds (value = max included) it is recorded.
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 10, max: 10 });
    await expect.poll(async () => (await task(body.task_id)).progress?.current, { timeout: 5000, interval: 50 }).toBe(10);
  });
});

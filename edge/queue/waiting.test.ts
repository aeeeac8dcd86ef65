import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import type { JobQueue } from "./JobQueue.ts";
import { queueFor } from "./stub.ts";
import { failHopelessJobs } from "./waiting.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

type Json = Record<string, any>;
const CHECKPOINT = "v1-5-pruned-emaonly.safetensors";
const agents: TestAgent[] = [];
// Jobs other files left queued (or agents they left connected) would take these tests' jobs or timers.
beforeEach(drainDefaultPool);
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});

const task = async (id: string) => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

/** One look at the waiting jobs as the alarm takes it, at time `at`, with MAX_WAIT_S = 60 s. */
const lookAt = (at: number) =>
  runInDurableObject(queueFor(env, "default"), (q: JobQueue) => {
    const { failed, nextAt } = failHopelessJobs(q, at, 60_000);
    return { failed: failed.map((j) => j.id), nextAt };
  });

async function agent(inventory: Record<string, string[]>, capacity = 1) {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity, inventory });
  await a.next("welcome");
  return a;
}

describe("queued jobs no connected agent can run (MAX_WAIT_S)", () => {
  it("fail with no_capable_agent naming the model once no capable agent has been there for MAX_WAIT_S", async () => {
    await agent({ loras: ["other.safetensors"] });
    const { body } = await submit({ prompt: "needs sd15" });
    const start = Date.now();
    const first = await lookAt(start);
    expect(first.failed).not.toContain(body.task_id);
    expect(first.nextAt).toBeGreaterThanOrEqual(start + 60_000);
    expect((await lookAt(start + 30_000)).failed).not.toContain(body.task_id);
    expect((await lookAt(start + 61_000)).failed).toContain(body.task_id);
    const failed = await task(body.task_id);
    expect(failed.status).toBe("FAILURE");
    expect(failed.error.code).toBe("no_capable_agent");
    expect(failed.error.message).toContain(CHECKPOINT);
    expect(failed.error.details.missing_models).toContain(`checkpoints/${CHECKPOINT}`);
  });

  it("a job an agent could run (it is only busy) waits on however long it takes", async () => {
    const a = await agent({ checkpoints: [CHECKPOINT] });
    const held = await submit({ prompt: "occupies the agent" }, "alice", { priority: 100 });
    await a.next("job", 5000, (j) => j.job_id === held.body.task_id);
    const { body } = await submit({ prompt: "waits its turn" });
    const start = Date.now();
    await lookAt(start);
    expect((await lookAt(start + 10 * 3_600_000)).failed).not.toContain(body.task_id);
    expect((await task(body.task_id)).status).toBe("PENDING");
  });

  it("an agent whose inventory message adds the model gets the waiting job, which then never times out", async () => {
    const a = await agent({});
    const { body } = await submit({ prompt: "model arrives later" }, "alice", { priority: 100 });
    await lookAt(Date.now());
    a.send({ type: "inventory", inventory: { checkpoints: [CHECKPOINT] } });
    const job = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    expect(job.job_id).toBe(body.task_id);
    const listed = (await (await call("GET", "/agents", "admin")).json()) as Json;
    const me = (listed.agents ?? listed).find((x: Json) => x.agent_id === a.id);
    expect(me.inventory).toEqual({ checkpoints: [CHECKPOINT] });
  });
});

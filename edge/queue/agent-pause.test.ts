import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { call, submit } from "../test/http.ts";
import { SD15_INVENTORY, TestAgent } from "../test/agent-socket.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
afterEach(async () => {
  while (agents.length) agents.pop()!.close();
});

async function connected(hello: Parameters<TestAgent["hello"]>[0] = {}): Promise<TestAgent> {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ inventory: SD15_INVENTORY, ...hello });
  await a.next("welcome");
  return a;
}

const listed = async (id: string): Promise<Json | undefined> =>
  ((await (await call("GET", "/agents?pool=default", "admin")).json()) as { agents: Json[] }).agents.find((x) => x.agent_id === id);

describe("an agent that pauses (its ComfyUI unreachable) and resumes", () => {
  // Jobs other files left queued would reach the agent before its pause does.
  beforeEach(drainDefaultPool);

  it("GET /agents shows why it takes no jobs; a queued job waits for its resume, then goes to it", async () => {
    // Room for a job another file's expired lease put back meanwhile, and ours first among them.
    const a = await connected({ capacity: 8 });
    a.send({ type: "pause", reason: "comfyui_unreachable: ECONNREFUSED" });
    const until = Date.now() + 5_000;
    while ((await listed(a.id))?.accepting !== false && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(await listed(a.id)).toMatchObject({ accepting: false, pause_reason: "comfyui_unreachable: ECONNREFUSED" });

    const { body } = await submit({ prompt: "a cat" }, "alice", { priority: 100 });
    expect(await a.next("job", 300, (j) => j.job_id === body.task_id).catch(() => null)).toBeNull();

    a.send({ type: "resume" });
    const job = await a.next("job", 10_000, (j) => j.job_id === body.task_id);
    expect(job.job_id).toBe(body.task_id);
    expect(await listed(a.id)).toMatchObject({ accepting: true, pause_reason: null });
    a.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "test", message: "done" } });
  });

  it("a hello with pause_reason registers the agent paused from the start", async () => {
    const a = await connected({ pause_reason: "comfyui_unreachable: starting" });
    expect(await listed(a.id)).toMatchObject({ connected: true, accepting: false, pause_reason: "comfyui_unreachable: starting" });
  });
});

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
// Jobs other files left queued (or agents they left connected) would take these tests' jobs or timers.
beforeEach(drainDefaultPool);
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});

const task = async (id: string) => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

async function agentWithJob(taskId: string) {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity: 8 });
  await a.next("welcome");
  return { a, job: await a.next("job", 5000, (j) => j.job_id === taskId) };
}

describe("a workflow's max_outputs", () => {
  it("is the job's upload grant (64 unless the manifest says otherwise); an index beyond it stores nothing", async () => {
    const { body } = await submit({ prompt: "many files" }, "alice", { priority: 95 });
    const { job } = await agentWithJob(body.task_id);
    expect(job.upload.max_files).toBe(64);
    const wf = (await (await call("GET", "/workflows/sd15_basic", "alice")).json()) as Json;
    expect(wf.max_outputs).toBe(64);
    const inside = await agents[0]!.upload(job, 63);
    expect(inside.status).toBe(201);
    const beyond = await agents[0]!.upload(job, 64);
    expect(beyond.status).toBe(409);
    const absurd = await agents[0]!.upload(job, 999);
    expect(absurd.status).toBe(400);
  });

  it("files an agent dropped past the limit are shown on the task; the job succeeds with what was delivered", async () => {
    const { body } = await submit({ prompt: "dropped" }, "alice", { priority: 95 });
    const { a, job } = await agentWithJob(body.task_id);
    const { output } = await a.upload(job, 0);
    a.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [output], dropped_outputs: 5 });
    expect((await a.next("ack")).of).toBe("complete");
    const done = await task(body.task_id);
    expect(done.status).toBe("SUCCESS");
    expect(done.result.outputs).toHaveLength(1);
    expect(done.result.dropped_outputs).toBe(5);
  });
});

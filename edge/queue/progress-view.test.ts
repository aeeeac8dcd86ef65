import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TaskEventSchema, type TaskEvent } from "../../shared/api.ts";
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

async function agentWithJob(taskId: string) {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity: 8 });
  await a.next("welcome");
  const job = await a.next("job", 5000, (j) => j.job_id === taskId);
  return { a, job };
}

const task = async (id: string) => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

async function watch(eventsUrl: string): Promise<{ events: TaskEvent[]; closed: Promise<number> }> {
  const res = await SELF.fetch(eventsUrl, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.accept();
  const events: TaskEvent[] = [];
  ws.addEventListener("message", (e) => events.push(TaskEventSchema.parse(JSON.parse(e.data as string))));
  return { events, closed: new Promise((r) => ws.addEventListener("close", (e) => r(e.code))) };
}

describe("a task's progress: one number, never backwards, 100 only on SUCCESS", () => {
  it("keeps the highest percent a lease reported, says what runs and in which unit", async () => {
    const { body } = await submit({ prompt: "steady" }, "alice", { priority: 90 });
    const { a, job } = await agentWithJob(body.task_id);
    const ref = { job_id: job.job_id, lease_id: job.lease_id };
    a.send({ type: "progress", ...ref, phase: "running", value: 6, max: 10, unit: "steps", percent: 60, node: "3", step_name: "KSampler" });
    await expect.poll(async () => (await task(body.task_id)).progress?.percent).toBe(60);
    // A report that arrives late (or an agent that counted differently) cannot pull it back.
    a.send({ type: "progress", ...ref, phase: "running", value: 5, max: 7, unit: "nodes", percent: 41, node: "8", step_name: "VAE Decode" });
    await expect.poll(async () => (await task(body.task_id)).progress?.step_name).toBe("VAE Decode");
    expect((await task(body.task_id)).progress).toEqual({ current: 5, total: 7, unit: "nodes", percent: 60, step_name: "VAE Decode", phase: "running" });
    // Uploading is its own phase, and even an agent's "100" is not done before SUCCESS.
    a.send({ type: "progress", ...ref, phase: "uploading", value: 1, max: 1, unit: "files", percent: 100, node: null, step_name: null });
    await expect.poll(async () => (await task(body.task_id)).progress?.phase).toBe("uploading");
    expect((await task(body.task_id)).progress.percent).toBe(99.9);
  });

  it("an agent that sends no percent still gets one (value/max), and SUCCESS shows 100% in the view and the feed", async () => {
    const { body } = await submit({ prompt: "old agent" }, "alice", { priority: 90 });
    const feed = await watch(body.events_url);
    const { a, job } = await agentWithJob(body.task_id);
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 0, max: 1, node: null, step_name: null });
    await expect.poll(async () => (await task(body.task_id)).progress).toMatchObject({ current: 0, total: 1, percent: 0, unit: null });
    await a.complete(job);
    await a.next("ack");
    const done = await task(body.task_id);
    expect(done.status).toBe("SUCCESS");
    expect(done.progress).toEqual({ current: 1, total: 1, percent: 100, step_name: null, phase: "done", unit: "files" });
    expect(await feed.closed).toBe(1000);
    const last = feed.events.at(-1)!;
    expect(last.type === "state" && last.task.progress).toMatchObject({ percent: 100, phase: "done" });
  });

  it("a job that succeeds without one progress report shows 100%", async () => {
    const { body } = await submit({ prompt: "instant" }, "alice", { priority: 90 });
    const { a, job } = await agentWithJob(body.task_id);
    await a.complete(job);
    await a.next("ack");
    expect((await task(body.task_id)).progress).toMatchObject({ percent: 100, phase: "done" });
  });
});

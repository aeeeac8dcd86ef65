import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { TaskEventSchema, type TaskEvent } from "../../shared/api.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { TEST_KEYS } from "../test/bindings.ts";
import { submit } from "../test/http.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

// Jobs other files left queued (or put back when a closed agent's lease expired) would fill this file's agents first.
beforeEach(drainDefaultPool);

async function watch(eventsUrl: string): Promise<{ events: TaskEvent[]; closed: Promise<number> }> {
  const res = await SELF.fetch(eventsUrl, { headers: { upgrade: "websocket" } });
  const ws = res.webSocket!;
  ws.accept();
  const events: TaskEvent[] = [];
  ws.addEventListener("message", (e) => {
    events.push(TaskEventSchema.parse(JSON.parse(e.data as string)));
  });
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
  return { events, closed };
}

async function readSse(res: Response): Promise<TaskEvent[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .map((block) => block.split("\n").find((l) => l.startsWith("data: ")))
    .filter((l): l is string => Boolean(l))
    .map((l) => TaskEventSchema.parse(JSON.parse(l.slice(6))));
}

async function agentWithJob(taskId: string) {
  const a = await TestAgent.connect();
  a.hello({ capacity: 8 });
  await a.next("welcome");
  const job = await a.next("job", 5000, (j) => j.job_id === taskId);
  return { a, job };
}

describe("GET /tasks/{id}/events", () => {
  it("pushes the current state first, then progress and every change, ending with the result and a normal close", async () => {
    const { body } = await submit({ prompt: "watched" }, "alice", { priority: 100 });
    const feed = await watch(body.events_url);
    const { a, job } = await agentWithJob(body.task_id);
    for (let v = 1; v <= 3; v++) a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: v, max: 3, step_name: "KSampler" });
    await a.complete(job);
    await a.next("ack");
    expect(await feed.closed).toBe(1000);
    a.close();
    const kinds = feed.events.map((e) => (e.type === "state" ? e.task.status : e.type === "progress" ? `p${e.progress.current}` : "preview"));
    expect(kinds[0]).toBe("PENDING");
    expect(kinds.at(-1)).toBe("SUCCESS");
    expect(kinds).toContain("PROGRESS");
    expect(kinds.filter((k) => k.startsWith("p"))).toEqual(["p2", "p3"]);
    const last = feed.events.at(-1)!;
    expect(last.type === "state" && last.task.result?.outputs[0]?.url).toMatch(/\/files\/out\//);
  });

  it("gives a late subscriber the final state at once and closes", async () => {
    const { body } = await submit({ prompt: "late" }, "alice", { priority: 100 });
    const { a, job } = await agentWithJob(body.task_id);
    a.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "execution_error", message: "boom" } });
    await a.next("ack");
    a.close();
    const feed = await watch(body.events_url);
    expect(await feed.closed).toBe(1000);
    expect(feed.events).toHaveLength(1);
    expect(feed.events[0]).toMatchObject({ type: "state", task: { status: "FAILURE", error: { code: "execution_error" } } });
  });

  it("serves the same feed as Server-Sent Events", async () => {
    const { body } = await submit({ prompt: "sse" }, "alice", { priority: 100 });
    const res = await SELF.fetch(body.status_url + "/events", { headers: { accept: "text/event-stream", authorization: `Bearer ${TEST_KEYS.alice}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const { a, job } = await agentWithJob(body.task_id);
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 1, max: 2 });
    await a.complete(job);
    await a.next("ack");
    a.close();
    const events = await readSse(res);
    expect(events[0]).toMatchObject({ type: "state", task: { status: "PENDING" } });
    expect(events.at(-1)).toMatchObject({ type: "state", task: { status: "SUCCESS" } });
  });

  it("asks for a WebSocket or SSE on a plain GET", async () => {
    const { body } = await submit({ prompt: "plain" }, "alice", { priority: 100 });
    const res = await SELF.fetch(body.events_url);
    expect(res.status).toBe(400);
  });
});

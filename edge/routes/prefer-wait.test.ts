import { beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { WAITER_KEY } from "../test/bindings.ts";
import { call as callAs } from "../test/http.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";
import { preferredWaitS } from "../http/prefer.ts";

type Json = Record<string, any>;
// A key of this file's own: other files' queued jobs and rate limits never stand in front of its jobs.
const call = (method: string, path: string, _who: "alice", body?: unknown, headers: Record<string, string> = {}) =>
  callAs(method, path, "none", body, { authorization: `Bearer ${WAITER_KEY}`, ...headers });
const body = (prompt: string) => ({ workflow_id: "sd15_basic", params: { prompt }, priority: 100 });

describe("Prefer: wait=N on submit", () => {
  beforeEach(drainDefaultPool);

  it("answers 200 with the finished task, signed links included, when the job ends within N seconds", async () => {
    const a = await TestAgent.connect();
    a.hello({ capacity: 8 });
    await a.next("welcome");
    const prompt = `waited for ${crypto.randomUUID()}`;
    const answer = call("POST", "/v1/jobs", "alice", body(prompt), { prefer: "wait=30" });
    const job = await a.next("job", 10_000, (j) => JSON.stringify(j).includes(prompt));
    await a.complete(job);
    await a.next("ack");
    const res = await answer;
    a.close();
    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBe("wait=30");
    const view = (await res.json()) as Json;
    expect(view).toMatchObject({ task_id: job.job_id, status: "SUCCESS" });
    expect(view.result.outputs[0].url).toMatch(/\/files\/out\/.*sig=/);
  });

  it("answers the usual 202 when the job is still running after N seconds", async () => {
    const res = await call("POST", "/generate", "alice", body("nobody runs this"), { prefer: "respond-async, wait=1" });
    expect(res.status).toBe(202);
    expect(res.headers.get("preference-applied")).toBeNull();
    const queued = (await res.json()) as Json;
    expect(queued.status).toBe("PENDING");
    expect((await call("DELETE", `/tasks/${queued.task_id}`, "alice")).status).toBe(200);
  });

  it("answers a failed job with 200 and its error as well: the job ended", async () => {
    const a = await TestAgent.connect();
    a.hello({ capacity: 8 });
    await a.next("welcome");
    const prompt = `fails ${crypto.randomUUID()}`;
    const answer = call("POST", "/v1/jobs", "alice", body(prompt), { prefer: "wait=30" });
    const job = await a.next("job", 10_000, (j) => JSON.stringify(j).includes(prompt));
    a.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "execution_error", message: "boom" } });
    await a.next("ack");
    const res = await answer;
    a.close();
    expect(res.status).toBe(200);
    expect((await res.json()) as Json).toMatchObject({ status: "FAILURE", error: { code: "execution_error" } });
  });
});

describe("preferredWaitS", () => {
  it("reads wait among other preferences, caps it at 60 s and ignores what is not delta-seconds", () => {
    expect(preferredWaitS("wait=10")).toBe(10);
    expect(preferredWaitS('respond-async, WAIT = "5"')).toBe(5);
    expect(preferredWaitS("handling=lenient, wait=600")).toBe(60);
    expect(preferredWaitS("wait=0")).toBeNull();
    expect(preferredWaitS("wait=-3")).toBeNull();
    expect(preferredWaitS("wait=1.5")).toBeNull();
    expect(preferredWaitS("waited=5")).toBeNull();
    expect(preferredWaitS(undefined)).toBeNull();
  });
});

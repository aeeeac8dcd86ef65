import { beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { WAITER_KEY } from "../test/bindings.ts";
import { call } from "../test/http.ts";
import { drainDefaultPool, task } from "../test/queue-driver.ts";
import { FREE_RUNNING_HANDBACKS } from "./agent-session.ts";

type Json = Record<string, any>;

describe("hand-backs of a started run (its ComfyUI became unreachable)", () => {
  beforeEach(drainDefaultPool);

  it("cost no attempt at first, then one each: a job that keeps losing its ComfyUI ends FAILURE comfyui_unavailable instead of circling forever", async () => {
    const res = await call("POST", "/v1/jobs", "none", { workflow_id: "sd15_basic", params: { prompt: "poison" }, priority: 100 }, { authorization: `Bearer ${WAITER_KEY}` });
    const id = ((await res.json()) as Json).task_id as string;
    const a = await TestAgent.connect();
    a.hello({ capacity: 1 });
    await a.next("welcome");
    const attempts: number[] = [];
    let view: Json = {};
    for (let handback = 1; handback <= 10; handback++) {
      const job = await a.jobFor(id);
      a.send({ type: "progress", job_id: id, lease_id: job.lease_id, phase: "running", value: 1, max: 10, step_name: "KSampler" });
      a.send({ type: "release", job_id: id, lease_id: job.lease_id, reason: "comfyui_unreachable: ECONNREFUSED" });
      await a.next("ack", 5_000, (m) => m.job_id === id && m.of === "release");
      view = await task(id);
      attempts.push(view.attempts);
      if (view.status === "FAILURE") break;
    }
    a.close();
    // Free hand-backs keep the count at 0; then each one costs its attempt until max_attempts.
    expect(attempts.slice(0, FREE_RUNNING_HANDBACKS)).toEqual(Array(FREE_RUNNING_HANDBACKS).fill(0));
    expect(view).toMatchObject({ status: "FAILURE", error: { code: "comfyui_unavailable" } });
    expect(view.error.message).toMatch(/times in a row/);
    expect(attempts.length).toBe(FREE_RUNNING_HANDBACKS + view.max_attempts);
  });

  it("a hand-back of a job ComfyUI never started costs nothing, however often", async () => {
    const res = await call("POST", "/v1/jobs", "none", { workflow_id: "sd15_basic", params: { prompt: "unstarted" }, priority: 100 }, { authorization: `Bearer ${WAITER_KEY}` });
    const id = ((await res.json()) as Json).task_id as string;
    const a = await TestAgent.connect();
    a.hello({ capacity: 1 });
    await a.next("welcome");
    for (let i = 0; i < FREE_RUNNING_HANDBACKS + 3; i++) {
      const job = await a.jobFor(id);
      a.send({ type: "release", job_id: id, lease_id: job.lease_id, reason: "draining" });
      await a.next("ack", 5_000, (m) => m.job_id === id && m.of === "release");
    }
    a.close();
    expect(await task(id)).toMatchObject({ status: "PENDING", attempts: 0 });
    expect((await call("DELETE", `/tasks/${id}`, "admin")).status).toBe(200);
  });
});

import { describe, expect, it } from "vitest";
import { call, submit } from "../test/http.ts";

describe("POST /v1/jobs and GET /tasks/{id}", () => {
  it("queues a valid job and reads it back PENDING with its seed", async () => {
    const { res, body } = await submit({ prompt: "a red fox" });
    expect(res.status).toBe(202);
    expect(body.task_id).toMatch(/^tsk_[0-9a-z]{20}\.default$/);
    expect(body.status_url).toBe(`http://edge.test/tasks/${body.task_id}`);
    expect(body.events_url).toMatch(new RegExp(`^http://edge.test/tasks/${body.task_id.replace(".", "\\.")}/events\\?token=\\d+\\.`));
    expect(Number.isInteger(body.seed)).toBe(true);
    const got = await call("GET", `/tasks/${body.task_id}`);
    expect(got.status).toBe(200);
    const view = (await got.json()) as Record<string, any>;
    expect(view).toMatchObject({ task_id: body.task_id, status: "PENDING", state: "queued", seed: body.seed, attempts: 0 });
    expect(view.queue.position).toBeGreaterThanOrEqual(1);
    expect(view.queue.waiting_for).toContain("agent");
  });
});

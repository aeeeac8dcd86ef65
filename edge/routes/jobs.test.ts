import { describe, expect, it } from "vitest";
import { call, submit } from "../test/http.ts";

type Json = Record<string, any>;
const json = async (res: Response) => (await res.json()) as Json;

describe("POST /v1/jobs and GET /tasks/{id}", () => {
  it("queues a valid job and reads it back PENDING with its seed and queue position", async () => {
    const { res, body } = await submit({ prompt: "a red fox" });
    expect(res.status).toBe(202);
    expect(body.task_id).toMatch(/^tsk_[0-9a-z]{20}\.default$/);
    expect(body.status_url).toBe(`http://edge.test/tasks/${body.task_id}`);
    expect(body.events_url).toMatch(/\/events\?token=\d+\.[A-Za-z0-9_-]+$/);
    expect(Number.isInteger(body.seed)).toBe(true);
    const got = await call("GET", `/tasks/${body.task_id}`);
    expect(got.status).toBe(200);
    const view = await json(got);
    expect(view).toMatchObject({ task_id: body.task_id, status: "PENDING", state: "queued", seed: body.seed, attempts: 0, max_attempts: 3 });
    expect(view.queue.position).toBeGreaterThanOrEqual(1);
    expect(view.queue.waiting_for).toContain("agent");
    expect(view.result).toBeNull();
  });

  it("accepts the original's route POST /generate with the same body", async () => {
    const res = await call("POST", "/generate", "alice", { workflow_id: "sd15_basic", params: { prompt: "x", seed: 42 } });
    expect(res.status).toBe(202);
    expect((await json(res)).seed).toBe(42);
  });

  it("serves /v1/jobs/{id} as an alias of /tasks/{id}", async () => {
    const { body } = await submit();
    const res = await call("GET", `/v1/jobs/${body.task_id}`);
    expect((await json(res)).task_id).toBe(body.task_id);
  });

  it("answers an unknown task id with 404, not PENDING forever", async () => {
    for (const id of ["tsk_aaaaaaaaaaaaaaaaaaaa.default", "nonsense", "tsk_aaaaaaaaaaaaaaaaaaaa.nopool"]) {
      const res = await call("GET", `/tasks/${id}`);
      expect(res.status).toBe(404);
      expect((await json(res)).error.code).toBe("not_found");
    }
  });

  it("hides another key's task behind 404; an admin sees it", async () => {
    const { body } = await submit();
    expect((await call("GET", `/tasks/${body.task_id}`, "bob")).status).toBe(404);
    expect((await call("DELETE", `/tasks/${body.task_id}`, "bob")).status).toBe(404);
    expect((await call("GET", `/tasks/${body.task_id}`, "admin")).status).toBe(200);
  });
});

describe("submit errors: each its own code, naming the field and the rule", () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    ["malformed JSON", () => call("POST", "/v1/jobs", "alice", '{"workflow_id": "sd15_basic",'), 400, "invalid_json"],
    ["wrong content type", () => call("POST", "/v1/jobs", "alice", "workflow_id=x", { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type"],
    ["body over the limit", () => call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "x".repeat(300_000) } }), 413, "body_too_large"],
    ["not an object", () => call("POST", "/v1/jobs", "alice", "[1,2]"), 400, "invalid_body"],
    ["unknown top-level field", () => call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: {}, colour: "red" }), 400, "invalid_body"],
    ["unknown workflow", () => call("POST", "/v1/jobs", "alice", { workflow_id: "nope", params: {} }), 404, "unknown_workflow"],
    ["bad parameter", () => call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "x", steps: "20" } }), 400, "invalid_params"],
    ["over the pixel-step budget", () => call("POST", "/v1/jobs", "alice", { workflow_id: "flux_default", params: { prompt: "x", width: 2048, height: 2048, steps: 100 } }), 422, "budget_exceeded"],
    ["webhook to a private address", () => call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "x" }, webhook_url: "https://10.0.0.5/hook" }), 400, "invalid_body"],
    ["webhook over http", () => call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "x" }, callback_url: "http://example.com/hook" }), 400, "invalid_body"],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      const body = await json(res);
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(10);
      expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
    });
  }

  it("lists every bad parameter with its path and rule", async () => {
    const res = await call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { steps: 3.9, width: "512", bogus: 1, also_bogus: true } });
    const body = await json(res);
    const byPath = Object.fromEntries(body.error.details.map((d: Json) => [d.path, d.rule]));
    expect(byPath["params.steps"]).toBe("integer");
    expect(byPath["params.width"]).toBe("type");
    expect(byPath["params.prompt"]).toBe("required");
    expect(byPath["params.bogus"]).toBe("unknown");
    expect(byPath["params.also_bogus"]).toBe("unknown");
  });
});

describe("Idempotency-Key", () => {
  it("returns the same task for the same key and body", async () => {
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const a = await submit({ prompt: "same" }, "alice", {}, headers);
    const b = await submit({ prompt: "same" }, "alice", {}, headers);
    expect(a.res.status).toBe(202);
    expect(b.res.status).toBe(202);
    expect(b.res.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body.task_id).toBe(a.body.task_id);
    expect(b.body.seed).toBe(a.body.seed);
  });

  it("refuses the same key with a different body with 409", async () => {
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    await submit({ prompt: "one" }, "alice", {}, headers);
    const b = await submit({ prompt: "two" }, "alice", {}, headers);
    expect(b.res.status).toBe(409);
    expect(b.body.error.code).toBe("idempotency_conflict");
  });

  it("scopes keys per API key", async () => {
    const headers = { "idempotency-key": `k-${crypto.randomUUID()}` };
    const a = await submit({ prompt: "one" }, "alice", {}, headers);
    const b = await submit({ prompt: "one" }, "bob", {}, headers);
    expect(b.body.task_id).not.toBe(a.body.task_id);
  });
});

describe("DELETE /tasks/{id}", () => {
  it("cancels a queued job at once, and a second cancel is a 409", async () => {
    const { body } = await submit();
    const res = await call("DELETE", `/tasks/${body.task_id}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: "CANCELLED", state: "cancelled", error: { code: "cancelled" } });
    expect((await json(await call("GET", `/tasks/${body.task_id}`))).status).toBe("CANCELLED");
    const again = await call("DELETE", `/tasks/${body.task_id}`);
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe("not_cancellable");
  });
});

describe("per-key queue cap", () => {
  it("answers 429 with Retry-After once a key has MAX_QUEUED_PER_KEY jobs queued", async () => {
    // The tests' cap is 100 per key; carol submits nowhere else, so other tests do not interfere.
    let last: Response | undefined;
    for (let i = 0; i < 101; i++) {
      last = await call("POST", "/v1/jobs", "carol", { workflow_id: "sd15_basic", params: { prompt: `n${i}` } });
      if (last.status !== 202) break;
    }
    expect(last!.status).toBe(429);
    expect(last!.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await json(last!)).error.code).toBe("queue_full");
  });
});

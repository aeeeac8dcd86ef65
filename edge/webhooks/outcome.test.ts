import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobQueue } from "../queue/JobQueue.ts";
import { queueFor } from "../queue/stub.ts";
import { taskView } from "../queue/views.ts";
import { call, submit } from "../test/http.ts";
import { attemptDelivery, freshState } from "./deliver.ts";
import { attemptView } from "./outcome.ts";

describe("webhook attempts in the task view", () => {
  it("shows a coarse outcome class, never a connection error's text", () => {
    const at = Date.UTC(2026, 0, 1);
    expect(attemptView({ at, status: 204, error: null })).toMatchObject({ outcome: "delivered", error: null, status: 204 });
    expect(attemptView({ at, status: 503, error: "receiver answered 503" })).toMatchObject({ outcome: "rejected", error: "rejected by receiver (HTTP 503)" });
    for (const raw of ["TypeError: Network connection lost.", "Error: connect ECONNREFUSED 10.0.0.5:6379", "TimeoutError: The operation was aborted due to timeout", "unreachable: could not be resolved"]) {
      expect(attemptView({ at, status: null, error: raw }), raw).toMatchObject({ outcome: "unreachable", error: "unreachable" });
    }
    expect(attemptView({ at, status: null, error: "target refused: resolves to 127.0.0.1, which points at a private, loopback or reserved address" })).toMatchObject({ outcome: "refused" });
  });

  it("re-checks the target at delivery: a stored private URL is refused, a name the resolver cannot answer is unreachable", async () => {
    const { body } = await submit({ prompt: "webhook recheck" });
    const views = await runInDurableObject(queueFor(env, "default"), async (q: JobQueue) => {
      const job = { ...q.store.get(body.task_id)!, webhook_url: "https://hooks.example.com/hook" };
      const now = Date.now();
      // As if the URL had been stored before today's rules (or by a bug): the attempt itself refuses it.
      const refused = await attemptDelivery(q, { ...job, webhook_url: "https://localhost./" }, freshState(), now);
      // A resolver that does not answer (nothing listens on port 9): no delivery, retried later.
      const offline = Object.create(q, { config: { value: { ...q.config, WEBHOOK_DNS_RESOLVER: "http://127.0.0.1:9/dns-query" } } }) as JobQueue;
      const unresolved = await attemptDelivery(offline, job, freshState(), now);
      const view = await taskView({ ...job, webhook: { delivered: false, attempts: [refused, unresolved], event_id: "msg_x" } }, q.config, null, now);
      return { refused, unresolved, attempts: view.webhook!.attempts };
    });
    expect(views.refused.error).toMatch(/^target refused: points at a local or internal host name/);
    expect(views.unresolved.error).toMatch(/^unreachable: could not be resolved/);
    expect(views.attempts.map((a) => a.outcome)).toEqual(["refused", "unreachable"]);
    expect(views.attempts[1]!.error).toBe("unreachable");
    await call("DELETE", `/tasks/${body.task_id}`, "alice");
  });
});

describe("a webhook refused at submit", () => {
  it("says how a local receiver is allowed in development (WEBHOOK_ALLOW_HOSTS, ALLOW_HTTP_WEBHOOKS)", async () => {
    for (const url of ["http://127.0.0.1:8000/hook", "https://localhost./hook", "https://[::ffff:0:7f00:1]/"]) {
      const res = await call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "x" }, webhook_url: url });
      expect(res.status, url).toBe(400);
      const err = ((await res.json()) as { error: { message: string; details: { rule: string }[] } }).error;
      expect(err.message, url).toMatch(/WEBHOOK_ALLOW_HOSTS/);
      expect(err.message, url).toMatch(/ALLOW_HTTP_WEBHOOKS/);
      expect(err.details[0]!.rule).toBe("webhook_target");
    }
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { TaskView } from "../shared/api.ts";
import { ProtocolLedger } from "./ledger.ts";
import { verifyRun, verifyWebhookEvents } from "./verify.ts";
import { startWebhookReceivers, type WebhookReceivers } from "./webhook-receivers.ts";

const T1 = "tsk_aaaaaaaaaaaaaaaaaaaa.default";
const T2 = "tsk_bbbbbbbbbbbbbbbbbbbb.default";

function view(id: string, over: Partial<TaskView>): TaskView {
  return {
    task_id: id, status: "PENDING", state: "queued", workflow_id: "sd15_basic", graph_sha256: null, pool: "default", batch_id: null, priority: 0, seed: 1, progress: null, result: null, error: null,
    attempts: 1, max_attempts: 3, queue: null, created_at: "", started_at: null, finished_at: null, timings: { queued_ms: null, run_ms: null, fetch_ms: null }, webhook: null, ...over,
  };
}

function success(id: string, lease: string, bytes = 10): TaskView {
  const url = `http://127.0.0.1:1/files/out/${id}/${lease}/0?exp=1&sig=s`;
  return view(id, { status: "SUCCESS", state: "succeeded", result: { download_url: url, outputs: [{ url, expires_at: "", content_type: "image/png", bytes, filename: "a.png", node_id: "9", node_title: null, sha256: null, width: null, height: null }], dropped_outputs: 0 } });
}

/** The wire as the proxies would have seen a job leased and completed once under `lease`. */
function wire(...events: [string, string, "complete" | "fail"][]): ProtocolLedger {
  const ledger = new ProtocolLedger();
  for (const [job, lease, how] of events) {
    ledger.record("down", JSON.stringify({ type: "job", job_id: job, lease_id: lease }));
    if (how === "complete") {
      ledger.record("up", JSON.stringify({ type: "complete", job_id: job, lease_id: lease, outputs: [] }));
      ledger.record("down", JSON.stringify({ type: "ack", of: "complete", job_id: job, lease_id: lease }));
    } else ledger.record("up", JSON.stringify({ type: "fail", job_id: job, lease_id: lease, retryable: false, error: { code: "execution_error", message: "x" } }));
  }
  return ledger;
}

describe("verifyRun", () => {
  it("passes a clean run and counts it", () => {
    const views = new Map([[T1, success(T1, "lse_1")], [T2, view(T2, { status: "FAILURE", state: "failed", attempts: 3, error: { code: "execution_error", message: "x" } })]]);
    const { counts, violations } = verifyRun({ taskIds: [T1, T2], views, objects: [{ key: `out/${T1}/lse_1/0`, size: 10 }], wire: wire([T1, "lse_1", "complete"], [T2, "lse_2", "fail"]).jobs });
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ jobs: 2, succeeded: 1, failed: 1, failedByCause: { execution_error: 1 }, retried: 1, lost: 0, duplicated: 0, orphanObjects: 0 });
  });

  it("names lost jobs, a job leased again after its success, orphans, missing outputs, attempts over max and causeless failures", () => {
    const views = new Map<string, TaskView | null>([
      [T1, success(T1, "lse_1", 10)],
      [T2, view(T2, { status: "FAILURE", state: "failed", attempts: 4 })],
      ["tsk_cccccccccccccccccccc.default", view("tsk_cccccccccccccccccccc.default", { status: "PROGRESS", state: "running" })],
      ["tsk_dddddddddddddddddddd.default", null],
    ]);
    const ledger = wire([T1, "lse_1", "complete"]);
    ledger.record("down", JSON.stringify({ type: "job", job_id: T1, lease_id: "lse_7" }));
    const { counts, violations } = verifyRun({
      taskIds: [...views.keys()],
      views,
      objects: [{ key: `out/${T1}/lse_1/0`, size: 9 }, { key: `out/${T2}/lse_2/0`, size: 5 }],
      wire: ledger.jobs,
    });
    expect(counts).toMatchObject({ lost: 2, duplicated: 1, orphanObjects: 1, missingObjects: 1, attemptsOverMax: 1, failuresWithoutCause: 1 });
    expect(violations).toHaveLength(7);
  });

  it("refuses a success whose complete no agent sent", () => {
    const { violations } = verifyRun({ taskIds: [T1], views: new Map([[T1, success(T1, "lse_9")]]), objects: [{ key: `out/${T1}/lse_9/0`, size: 10 }], wire: new ProtocolLedger().jobs });
    expect(violations).toEqual([`${T1}: SUCCESS under lease lse_9, whose complete no agent sent`]);
  });

  it("does not count the ack of a resent complete (after a reconnect) as a second success", () => {
    const ledger = wire([T1, "lse_1", "complete"]);
    // The link was cut before the agent read the ack: it reconnects (rig 1 now) and sends the report again.
    ledger.record("up", JSON.stringify({ type: "complete", job_id: T1, lease_id: "lse_1", outputs: [] }), 1);
    ledger.record("down", JSON.stringify({ type: "ack", of: "complete", job_id: T1, lease_id: "lse_1" }), 1);
    const { counts, violations } = verifyRun({ taskIds: [T1], views: new Map([[T1, success(T1, "lse_1")]]), objects: [{ key: `out/${T1}/lse_1/0`, size: 10 }], wire: ledger.jobs });
    expect(ledger.jobs.get(T1)?.completeAcks).toBe(2);
    expect(violations).toEqual([]);
    expect(counts.duplicated).toBe(0);
  });

  it("accepts acks of other leases' completes the edge did not apply: expired, refused, cancelled", () => {
    const ledger = new ProtocolLedger();
    const down = (m: object, rig = 0) => ledger.record("down", JSON.stringify(m), rig);
    const up = (m: object, rig = 0) => ledger.record("up", JSON.stringify(m), rig);
    // lse_1 expired on a frozen rig; its late complete is acked (the lease is settled), not applied.
    down({ type: "job", job_id: T1, lease_id: "lse_1" });
    down({ type: "job", job_id: T1, lease_id: "lse_2" }, 1);
    up({ type: "complete", job_id: T1, lease_id: "lse_1", outputs: [] });
    down({ type: "ack", of: "complete", job_id: T1, lease_id: "lse_1" });
    // lse_2's complete named outputs it never uploaded: an error, then the ack.
    up({ type: "complete", job_id: T1, lease_id: "lse_2", outputs: [] }, 1);
    down({ type: "error", code: "outputs_unverified", message: "x", job_id: T1, lease_id: "lse_2" }, 1);
    down({ type: "ack", of: "complete", job_id: T1, lease_id: "lse_2" }, 1);
    down({ type: "job", job_id: T1, lease_id: "lse_3" }, 1);
    up({ type: "complete", job_id: T1, lease_id: "lse_3", outputs: [] }, 1);
    down({ type: "ack", of: "complete", job_id: T1, lease_id: "lse_3" }, 1);
    // T2 was cancelled while it ran: its agent's complete is acked all the same.
    down({ type: "job", job_id: T2, lease_id: "lse_9" });
    up({ type: "complete", job_id: T2, lease_id: "lse_9", outputs: [] });
    down({ type: "ack", of: "complete", job_id: T2, lease_id: "lse_9" });
    const views = new Map([[T1, success(T1, "lse_3")], [T2, view(T2, { status: "CANCELLED", state: "cancelled", error: { code: "cancelled", message: "x" } })]]);
    const { counts, violations } = verifyRun({ taskIds: [T1, T2], views, objects: [{ key: `out/${T1}/lse_3/0`, size: 10 }], wire: ledger.jobs });
    expect(violations).toEqual([]);
    expect(counts).toMatchObject({ duplicated: 0, succeeded: 1, cancelled: 1, lateCompletesRefused: 2, redelivered: 1 });
  });

  it("names a success under a refused complete, and a result mixing two leases' outputs", () => {
    const ledger = wire([T1, "lse_1", "complete"]);
    ledger.record("down", JSON.stringify({ type: "job", job_id: T2, lease_id: "lse_2" }));
    ledger.record("up", JSON.stringify({ type: "complete", job_id: T2, lease_id: "lse_2", outputs: [] }));
    ledger.record("down", JSON.stringify({ type: "error", code: "outputs_unverified", message: "x", job_id: T2, lease_id: "lse_2" }));
    ledger.record("down", JSON.stringify({ type: "ack", of: "complete", job_id: T2, lease_id: "lse_2" }));
    const mixed = success(T1, "lse_1");
    const other = { ...mixed.result!.outputs[0]!, url: `http://127.0.0.1:1/files/out/${T1}/lse_0/1?exp=1&sig=s` };
    mixed.result!.outputs.push(other);
    const { counts, violations } = verifyRun({
      taskIds: [T1, T2],
      views: new Map([[T1, mixed], [T2, success(T2, "lse_2")]]),
      objects: [{ key: `out/${T1}/lse_1/0`, size: 10 }, { key: `out/${T1}/lse_0/1`, size: 10 }, { key: `out/${T2}/lse_2/0`, size: 10 }],
      wire: ledger.jobs,
    });
    expect(counts.duplicated).toBe(2);
    expect(violations).toEqual([`${T1}: its result holds the outputs of 2 leases (lse_1, lse_0)`, `${T1}: SUCCESS under lease lse_0, whose complete no agent sent`, `${T2}: SUCCESS under lease lse_2, whose complete the edge refused`]);
  });
});

describe("verifyWebhookEvents", () => {
  const receivers: WebhookReceivers[] = [];
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
  });

  const post = (url: string, taskId: string, eventId: string, type: string) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", "webhook-id": eventId }, body: JSON.stringify({ type, data: { task_id: taskId } }) }).then((r) => r.body?.cancel());

  it("takes a retried delivery (same webhook-id) as one event, and names two events and a wrong type", async () => {
    const r = await startWebhookReceivers(1);
    receivers.push(r);
    await post(r.okUrl, T1, "msg_a", "task.success");
    await post(r.okUrl, T1, "msg_a", "task.success");
    await post(r.okUrl, T2, "msg_b", "task.failure");
    await post(r.okUrl, T2, "msg_c", "task.success");
    const views = new Map([[T1, success(T1, "lse_1")], [T2, view(T2, { status: "FAILURE", state: "failed", error: { code: "x", message: "x" } })]]);
    const deliveries = r.arrivals.map(({ taskId, eventId, type }) => ({ taskId, eventId, type }));
    expect(deliveries).toHaveLength(4);
    const { duplicated, violations } = verifyWebhookEvents(views, deliveries);
    expect(duplicated).toBe(1);
    expect(violations).toEqual([`${T2}: 2 webhook events (msg_b, msg_c): it reached a terminal state more than once`, `${T2}: webhook event task.success but the task ended FAILURE`]);
  });
});

import { describe, expect, it } from "vitest";
import type { TaskView } from "../shared/api.ts";
import { ProtocolLedger } from "./ledger.ts";
import { verifyRun } from "./verify.ts";

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

  it("names lost jobs, double acknowledgements, orphans, missing outputs, attempts over max and causeless failures", () => {
    const views = new Map<string, TaskView | null>([
      [T1, success(T1, "lse_1", 10)],
      [T2, view(T2, { status: "FAILURE", state: "failed", attempts: 4 })],
      ["tsk_cccccccccccccccccccc.default", view("tsk_cccccccccccccccccccc.default", { status: "PROGRESS", state: "running" })],
      ["tsk_dddddddddddddddddddd.default", null],
    ]);
    const ledger = wire([T1, "lse_1", "complete"]);
    ledger.record("down", JSON.stringify({ type: "ack", of: "complete", job_id: T1, lease_id: "lse_1" }));
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
});

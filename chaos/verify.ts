import type { TaskView } from "../shared/api.ts";
import { keyOfDownloadUrl } from "./edge-client.ts";
import type { JobTrace } from "./ledger.ts";

export interface RunEvidence {
  /** Every job the harness got a 202 for, by task id. */
  taskIds: string[];
  /** The final view of each task; null when the edge answered 404. */
  views: Map<string, TaskView | null>;
  /** Every object in the FILES bucket at the end. */
  objects: { key: string; size: number }[];
  /** What crossed the agent sockets, per job. */
  wire: Map<string, JobTrace>;
}

export interface RunCounts {
  jobs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  failedByCause: Record<string, number>;
  /** Jobs that needed more than one attempt. */
  retried: number;
  /** Jobs leased more than once (a retry, a release or an expiry). */
  redelivered: number;
  /** Jobs not in a terminal state at the end, or unknown to the edge. */
  lost: number;
  /** Jobs whose `complete` the edge acknowledged more than once. */
  duplicated: number;
  /** `complete` reports the edge refused (a stale lease: the job had moved on). */
  lateCompletesRefused: number;
  orphanObjects: number;
  missingObjects: number;
  attemptsOverMax: number;
  failuresWithoutCause: number;
}

const TERMINAL = new Set(["SUCCESS", "FAILURE", "CANCELLED"]);
const STATE_OF: Record<string, string> = { SUCCESS: "succeeded", FAILURE: "failed", CANCELLED: "cancelled" };

/**
 * Checks a finished chaos run against the guarantees the API makes, and counts. Each
 * broken guarantee becomes one line in `violations` naming the job or object.
 */
export function verifyRun(e: RunEvidence): { counts: RunCounts; violations: string[] } {
  const violations: string[] = [];
  const c: RunCounts = {
    jobs: e.taskIds.length, succeeded: 0, failed: 0, cancelled: 0, failedByCause: {}, retried: 0, redelivered: 0, lost: 0, duplicated: 0,
    lateCompletesRefused: 0, orphanObjects: 0, missingObjects: 0, attemptsOverMax: 0, failuresWithoutCause: 0,
  };
  if (new Set(e.taskIds).size !== e.taskIds.length) violations.push("two submissions (different Idempotency-Keys) got the same task id");
  const expected = new Map<string, { job: string; bytes: number }>();

  for (const id of e.taskIds) {
    const v = e.views.get(id) ?? null;
    const wire = e.wire.get(id);
    if (v === null) {
      c.lost++;
      violations.push(`${id}: accepted (202) but unknown to the edge (404)`);
      continue;
    }
    if (!TERMINAL.has(v.status) || STATE_OF[v.status] !== v.state) {
      c.lost++;
      violations.push(`${id}: not terminal at the end (status ${v.status}, state ${v.state}, attempt ${v.attempts})`);
      continue;
    }
    if (v.attempts > v.max_attempts) {
      c.attemptsOverMax++;
      violations.push(`${id}: ${v.attempts} attempts, over max_attempts ${v.max_attempts}`);
    }
    if (v.attempts > 1) c.retried++;
    if ((wire?.leases.size ?? 0) > 1) c.redelivered++;
    const acks = wire?.completeAcks ?? 0;
    if (acks > 1) {
      c.duplicated++;
      violations.push(`${id}: the edge acknowledged complete ${acks} times`);
    }
    if (v.status === "SUCCESS") {
      c.succeeded++;
      c.lateCompletesRefused += Math.max(0, (wire?.completesSent.size ?? 0) - 1);
      const outputs = v.result?.outputs ?? [];
      if (outputs.length === 0) violations.push(`${id}: SUCCESS without outputs`);
      if (v.error !== null) violations.push(`${id}: SUCCESS that also carries an error`);
      for (const o of outputs) {
        const key = keyOfDownloadUrl(o.url);
        const lease = key.split("/")[2] ?? "";
        if (!key.startsWith(`out/${id}/`)) violations.push(`${id}: output ${key} outside the job's prefix`);
        if (!wire?.completesSent.has(lease)) violations.push(`${id}: SUCCESS under lease ${lease}, whose complete no agent sent`);
        expected.set(key, { job: id, bytes: o.bytes });
      }
    } else {
      if (v.result !== null) violations.push(`${id}: ${v.status} that carries a result`);
      if (v.status === "FAILURE") c.failed++;
      else c.cancelled++;
      if (acks > 0) violations.push(`${id}: ${v.status} although the edge acknowledged a complete`);
      const cause = v.error?.code;
      if (!cause) {
        c.failuresWithoutCause++;
        violations.push(`${id}: ${v.status} without an error code`);
      } else if (v.status === "FAILURE") c.failedByCause[cause] = (c.failedByCause[cause] ?? 0) + 1;
    }
  }

  const stored = new Map(e.objects.map((o) => [o.key, o.size]));
  for (const [key, { job, bytes }] of expected) {
    const size = stored.get(key);
    if (size === undefined) {
      c.missingObjects++;
      violations.push(`${job}: output ${key} is not in R2`);
    } else if (size !== bytes) {
      c.missingObjects++;
      violations.push(`${job}: output ${key} is ${size} bytes in R2, the task says ${bytes}`);
    }
  }
  for (const { key } of e.objects) {
    if (!expected.has(key)) {
      c.orphanObjects++;
      violations.push(`orphan object ${key} (no SUCCESS names it)`);
    }
  }
  return { counts: c, violations };
}

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
  /**
   * Jobs whose completion the edge applied more than once: a result holding outputs of two
   * leases, a new lease after the success was acknowledged, or two terminal webhook events.
   * (Several acks of one lease's complete are not: the edge acks a resent report again.)
   */
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
 * Evidence that a success was applied more than once. The wire cannot tell a fresh ack from a
 * repeated one (the edge acks a resent complete of a settled lease again, and a late complete
 * of an expired or cancelled lease too), so the success lease comes from the edge's own view:
 * its outputs all belong to one lease, whose complete the edge did not refuse, and after
 * whose first ack no new lease of the job crossed the wire (a succeeded job is never leased).
 */
function appliedTwice(id: string, outputLeases: string[], wire: JobTrace | undefined): string[] {
  const leases = [...new Set(outputLeases)];
  if (leases.length > 1) return [`${id}: its result holds the outputs of ${leases.length} leases (${leases.join(", ")})`];
  const lease = leases[0];
  if (lease === undefined || !wire) return [];
  if (wire.completesRefused.has(lease)) return [`${id}: SUCCESS under lease ${lease}, whose complete the edge refused`];
  const ackedAt = wire.firstCompleteAckAt.get(lease);
  if (ackedAt === undefined) return [];
  const later = [...wire.grantedAt].filter(([, at]) => at > ackedAt).map(([l]) => l);
  return later.length ? [`${id}: leased again (${later.join(", ")}) after the edge acknowledged its completion under ${lease}`] : [];
}

/** One webhook delivery as a receiver saw it: `webhook-id` names the event (retries keep it). */
export interface WebhookDelivery {
  taskId: string;
  eventId: string;
  type: string;
}

/**
 * Webhooks are at least once, so a task may be delivered several times, but all of them one
 * event (one `webhook-id`) whose type is the task's final status: two events are two terminal
 * transitions. Returns how many tasks broke that, and a line each.
 */
export function verifyWebhookEvents(views: Map<string, TaskView | null>, deliveries: WebhookDelivery[]): { duplicated: number; violations: string[] } {
  const byTask = new Map<string, WebhookDelivery[]>();
  for (const d of deliveries) byTask.set(d.taskId, [...(byTask.get(d.taskId) ?? []), d]);
  const violations: string[] = [];
  let duplicated = 0;
  for (const [id, ds] of byTask) {
    const events = new Set(ds.map((d) => d.eventId));
    if (events.size > 1) {
      duplicated++;
      violations.push(`${id}: ${events.size} webhook events (${[...events].join(", ")}): it reached a terminal state more than once`);
    }
    const status = views.get(id)?.status;
    const wrong = ds.filter((d) => status === undefined || d.type !== `task.${status.toLowerCase()}`);
    if (wrong.length) violations.push(`${id}: webhook event ${wrong[0]!.type} but the task ended ${status ?? "unknown"}`);
  }
  return { duplicated, violations };
}

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
    if (v.status === "SUCCESS") {
      c.succeeded++;
      c.lateCompletesRefused += Math.max(0, (wire?.completesSent.size ?? 0) - 1);
      const outputs = v.result?.outputs ?? [];
      if (outputs.length === 0) violations.push(`${id}: SUCCESS without outputs`);
      const twice = appliedTwice(id, outputs.map((o) => keyOfDownloadUrl(o.url).split("/")[2] ?? ""), wire);
      if (twice.length) {
        c.duplicated++;
        violations.push(...twice);
      }
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

import type { GrayReport } from "./gray-run.ts";
import type { ChaosReport } from "./run.ts";

function p50(xs: number[]): string {
  if (xs.length === 0) return "n/a";
  const sorted = [...xs].sort((a, b) => a - b);
  return `${Math.round(sorted[Math.floor((sorted.length - 1) / 2)]!)} ms`;
}

function max(xs: number[]): string {
  return xs.length === 0 ? "n/a" : `${Math.round(Math.max(...xs))} ms`;
}

/** One line per gray fault: what it touched and how those jobs ended. */
export function formatGray(g: GrayReport): string[] {
  const lines = g.outcomes.map((o) => {
    const endings = Object.entries(o.endings).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
    const moved = o.redispatchMs.length > 0 ? `; leased elsewhere after p50 ${p50(o.redispatchMs)}, max ${max(o.redispatchMs)} (${o.redispatchMs.length} jobs)` : "";
    return `gray ${o.kind}: hits ${o.hits}, jobs touched ${o.touched} (${endings}), failed because of it ${o.failedByFault}${moved}`;
  });
  lines.push(`another owner's webhooks: ${g.otherOwnerWebhookMs.length}/${g.otherOwnerWebhooks} arrived, end → arrival p50 ${p50(g.otherOwnerWebhookMs)}, max ${max(g.otherOwnerWebhookMs)} (the 15 s receiver was hit ${g.slowReceiverHits} times)`);
  return lines;
}

/** The run's figures as plain lines (one fact each, greppable: `lost: 0`). */
export function formatChaosReport(r: ChaosReport): string {
  const c = r.counts;
  const causes = Object.entries(c.failedByCause).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const wire = Object.entries(r.wireErrors).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const counters = ["retries", "lease_expiries", "stale_messages"].map((k) => `${k} ${r.edgeCounters[k] ?? 0}`).join(", ");
  const lines = [
    `jobs: ${c.jobs} (submitted ${r.submitted}, never accepted ${r.unsubmitted})`,
    `succeeded: ${c.succeeded}`,
    `failed: ${c.failed} (by cause: ${causes})`,
    `cancelled: ${c.cancelled}`,
    `retried: ${c.retried} jobs needed more than one attempt; ${c.redelivered} were leased more than once`,
    `lost: ${c.lost}`,
    `duplicated: ${c.duplicated}`,
    `late completes refused: ${c.lateCompletesRefused}`,
    `orphan objects: ${c.orphanObjects}`,
    `missing objects: ${c.missingObjects}`,
    `attempts over max: ${c.attemptsOverMax}`,
    `failures without cause: ${c.failuresWithoutCause}`,
    `agents killed: ${r.fleet.killed} (drained ${r.fleet.drained}, restarted ${r.fleet.restarted}), links cut: ${r.fleet.cuts}, ComfyUI crashes by the monkey: ${r.fleet.comfyCrashes}`,
    `edge restarts: ${r.edgeRestarts}`,
    `edge counters: ${counters}`,
    `edge error frames to agents: ${wire}`,
    `client retries through restarts: ${r.clientRetries} (5xx answers: ${r.serverErrors})`,
    `duration: ${(r.durationMs / 1000).toFixed(1)} s${r.timedOut ? " (deadline reached)" : ""}`,
    `failures other than the workflow's own error, as seen on the wire (job@rig ...): ${r.failureTraces.length}`,
    ...r.failureTraces.slice(0, 20).map((t) => `  ${t}`),
    ...(r.gray ? formatGray(r.gray) : []),
    `violations: ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  - ${v}`),
  ];
  if (r.violations.length > 50) lines.push(`  ... and ${r.violations.length - 50} more`);
  return lines.join("\n");
}

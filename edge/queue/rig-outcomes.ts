import type { QueueCore } from "./core.ts";
import type { Job } from "./types.ts";

/**
 * Retryable error codes that say nothing about the rig: a timeout is the job's own budget, a
 * missing model is routed around by the inventory (agent-session forgets it), a cancel is asked for.
 */
const NOT_THE_RIG = new Set(["timeout", "model_missing", "cancelled"]);

export function chargesRig(code: string, retryable: boolean): boolean {
  return retryable && !NOT_THE_RIG.has(code);
}

function peers(q: QueueCore, agentId: string, ok: (id: string) => boolean): boolean {
  return q.agents.list().some((a) => a.agent_id !== agentId && a.accepting && q.isConnected(a.agent_id) && ok(a.agent_id));
}

/**
 * Records a retryable failure (or a lost lease) of `jobId` on this rig, quarantining the rig
 * when it has failed QUARANTINE_AFTER times in a row while another agent has a clean run.
 * Returns whether the job gets this attempt back: the rig is quarantined (just now or already)
 * and a healthy agent is there to run the job instead. A quarantine also gives every unfinished
 * job back the attempts it lost on this rig before.
 */
export function rigFailed(q: QueueCore, agentId: string, jobId: string, error: { code: string; message: string }, outcome: "retryable_failure" | "lease_lost", now: number): boolean {
  const verdict = q.health.failure(agentId, jobId, outcome, error, now, () => peers(q, agentId, (id) => q.health.isClean(id)));
  if (verdict.quarantinedNow) {
    const refunded = q.health.refundLostAttempts(agentId);
    q.store.bump("quarantines");
    if (refunded) q.store.bump("attempts_refunded", refunded);
    console.warn(JSON.stringify({ msg: "agent quarantined", agent_id: agentId, reason: q.health.view(agentId, now, 0).health_reason, jobs_refunded: refunded }));
  }
  const refund = verdict.quarantined && peers(q, agentId, (id) => q.health.isHealthy(id));
  if (refund) q.store.bump("attempts_refunded");
  return refund;
}

/** After the job's transition: an attempt it lost here and was charged for is remembered, for a refund if the rig is quarantined later. */
export function rememberLostAttempt(q: QueueCore, agentId: string, after: Job | null, refunded: boolean, now: number): void {
  if (after && !refunded && after.state === "queued") q.health.noteLostAttempt(after.id, agentId, now);
}

import { JOB_ERROR } from "../../shared/errors.ts";
import type { QueueCore } from "./core.ts";
import type { Job } from "./types.ts";

/**
 * Runs past their deadline (timeout_s plus the grace) end here, whatever the agent says: the
 * agent should have stopped them at timeout_s, so one still running is stuck or ignoring its
 * limit. Each is failed with code `timeout` (retried per the job's retry_on_timeout) and its
 * agent is told to cancel the lease, which interrupts the prompt in ComfyUI.
 */
export function failOverdueRuns(q: QueueCore, now: number): Job[] {
  const changed: Job[] = [];
  for (const job of q.store.overdue(now, 100)) {
    const leaseId = job.lease_id!;
    const after = q.store.fail(
      job.id,
      leaseId,
      { code: JOB_ERROR.timeout, message: `Attempt ${job.attempts} ran longer than the workflow's limit of ${job.timeout_s} s; the edge stopped it.` },
      true,
      now,
      q.config.RETENTION_DAYS * 86_400_000,
    );
    if (!after) continue;
    if (job.agent_id) {
      for (const ws of q.agentSockets(job.agent_id)) q.send(ws, { type: "cancel", job_id: job.id, lease_id: leaseId });
    }
    changed.push(after);
  }
  if (changed.length) q.store.bump("run_timeouts", changed.length);
  return changed;
}

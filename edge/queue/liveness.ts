import { CLOSE } from "../../shared/protocol.ts";
import type { Config } from "../env.ts";
import type { AgentAttachment } from "./agent-session.ts";
import type { QueueCore } from "./core.ts";
import { rememberLostAttempt, rigFailed } from "./rig-outcomes.ts";
import type { Job } from "./types.ts";

/**
 * Liveness is the frames an agent sends, not its open socket. Every agent heartbeats each
 * `heartbeat_ms` (sent in `welcome`), busy or idle; any valid frame counts. An agent silent
 * for MISSED_HEARTBEATS periods is gone: its leases go back to the queue, it gets no new work,
 * and its socket is closed (CLOSE.silent), so a frozen process that wakes up reconnects.
 *
 * Why heartbeat frames and not WebSocket ping/pong: the runtime answers pings itself (and the
 * hibernation API's auto-response answers without waking the object), so a pong proves the
 * link and the peer's socket stack, not that the agent's event loop runs; a Worker cannot send
 * a protocol ping at all. A heartbeat is written by the agent's own timer and reaches this code.
 */
export const MISSED_HEARTBEATS = 3;

export function heartbeatMs(config: Config): number {
  return Math.max(250, Math.floor(config.LEASE_TTL_MS / 3));
}

export function silenceBoundMs(config: Config): number {
  return MISSED_HEARTBEATS * heartbeatMs(config);
}

/** last_seen is persisted at least this often, so a wake reads a value at most half a heartbeat old. */
export function lastSeenMaxStaleMs(config: Config): number {
  return Math.min(5_000, Math.floor(heartbeatMs(config) / 2));
}

/** Ends every connected agent that has been silent past the bound; returns their ids. */
export function closeSilentAgents(q: QueueCore, now: number): string[] {
  const bound = silenceBoundMs(q.config);
  const gone: string[] = [];
  for (const a of q.agents.list()) {
    if (!q.isConnected(a.agent_id) || now - a.last_seen <= bound) continue;
    // Its leases end now; requeueExpiredLeases (next) takes them back and marks it unproven.
    q.store.expireHeldBy(a.agent_id, now);
    for (const ws of q.agentSockets(a.agent_id)) {
      try {
        // Not a welcomed connection any more: nothing is sent down it while it closes.
        ws.serializeAttachment({ ...(ws.deserializeAttachment() as AgentAttachment), hello: false } satisfies AgentAttachment);
        ws.close(CLOSE.silent, `no frame for ${now - a.last_seen} ms (bound ${bound} ms): treated as gone, leases re-queued; reconnect`);
      } catch {
        // Already closed.
      }
    }
    q.markDisconnected(a.agent_id);
    gone.push(a.agent_id);
    console.warn(JSON.stringify({ msg: "agent silent: treated as gone", agent_id: a.agent_id, silent_ms: now - a.last_seen, bound_ms: bound }));
  }
  if (gone.length) q.store.bump("silent_agents", gone.length);
  return gone;
}

/** When the next connected agent would pass the silence bound (for the alarm), or null. */
export function nextSilenceCheck(q: QueueCore): number | null {
  const bound = silenceBoundMs(q.config);
  let next: number | null = null;
  for (const a of q.agents.list()) {
    if (!q.isConnected(a.agent_id)) continue;
    const due = a.last_seen + bound + 1;
    if (next === null || due < next) next = due;
  }
  return next;
}

/**
 * Expired leases go back to the queue (store.requeueExpired). Each costs its rig: it is unproven
 * (no work until a frame from it arrives after the expiry) and the loss is a retryable failure
 * in its health record, refunded to the job if the rig is (or thereby gets) quarantined.
 */
export function requeueExpiredLeases(q: QueueCore, now: number): { requeued: Job[]; failed: Job[] } {
  const refunded = new Set<string>();
  const result = q.store.requeueExpired(now, q.config.RETENTION_DAYS * 86_400_000, (job) => {
    if (!job.agent_id) return false;
    q.health.markUnproven(job.agent_id, now);
    const refund = rigFailed(q, job.agent_id, job.id, { code: "lease_expired", message: "the lease expired" }, "lease_lost", now);
    if (refund) refunded.add(job.id);
    return refund;
  });
  for (const job of result.requeued) if (job.agent_id) rememberLostAttempt(q, job.agent_id, job, refunded.has(job.id), now);
  return result;
}

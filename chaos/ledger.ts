import type { Direction } from "./proxy.ts";

export interface JobTrace {
  /** Leases the edge sent for this job (`job` frames). */
  leases: Set<string>;
  /** Leases for which an agent reported `complete`. */
  completesSent: Set<string>;
  /**
   * `ack` of `complete` the edge sent back, all told. Not a count of successes: the edge acks
   * again a resent report of a lease it already settled (the agent lost the first ack).
   */
  completeAcks: number;
  /** Wire order (the ledger's frame counter) of each lease's grant. */
  grantedAt: Map<string, number>;
  /** Wire order of the first `ack` of `complete` per lease. */
  firstCompleteAckAt: Map<string, number>;
  /** Leases whose `complete` the edge refused: its `error` came right before the ack (outputs it could not vouch for). */
  completesRefused: Set<string>;
  failsSent: number;
  /** What happened to it on the wire, in order: `job@2`, `fail:timeout@2`, `complete@0`, `ack@0` (`@` the rig). */
  history: string[];
}

/**
 * What crossed the agent sockets, as seen from the wire (the chaos proxies): an observer
 * that neither end controls, so "no job succeeded twice" is checked against what the edge
 * actually acknowledged, not against its own bookkeeping.
 */
export class ProtocolLedger {
  readonly jobs = new Map<string, JobTrace>();
  /** Frames that were not JSON with a `type` (should be none). */
  unreadable = 0;
  /** `error` frames from the edge, by code (stale_lease after a cut is expected). */
  readonly edgeErrors = new Map<string, number>();
  /** Frames recorded so far: the wire order of grants and acks. */
  #seq = 0;
  /** Per rig: the job and lease the last frame down named, when it was an `error`. */
  readonly #lastDownError = new Map<number, string>();

  #trace(jobId: string): JobTrace {
    let t = this.jobs.get(jobId);
    if (!t) {
      t = { leases: new Set(), completesSent: new Set(), completeAcks: 0, grantedAt: new Map(), firstCompleteAckAt: new Map(), completesRefused: new Set(), failsSent: 0, history: [] };
      this.jobs.set(jobId, t);
    }
    return t;
  }

  /** One text frame seen on rig `rig`'s link. */
  record(dir: Direction, text: string, rig = 0): void {
    let m: { type?: unknown; job_id?: unknown; lease_id?: unknown; of?: unknown; code?: unknown; error?: { code?: unknown } };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      this.unreadable++;
      return;
    }
    if (typeof m !== "object" || m === null || typeof m.type !== "string") {
      this.unreadable++;
      return;
    }
    const job = typeof m.job_id === "string" ? m.job_id : null;
    const lease = typeof m.lease_id === "string" ? m.lease_id : "";
    if (job && m.type !== "progress" && m.type !== "heartbeat") {
      const what = m.type === "fail" ? `fail:${String(m.error?.code)}` : m.type === "ack" ? `ack:${String(m.of)}` : m.type === "error" ? `error:${String(m.code)}` : m.type;
      this.#trace(job).history.push(`${what}@${rig}`);
    }
    const seq = ++this.#seq;
    if (dir === "down") {
      const named = job ? `${job} ${lease}` : null;
      const refusedJustBefore = named !== null && this.#lastDownError.get(rig) === named;
      if (m.type === "error" && named) this.#lastDownError.set(rig, named);
      else this.#lastDownError.delete(rig);
      if (m.type === "job" && job) {
        const t = this.#trace(job);
        t.leases.add(lease);
        if (!t.grantedAt.has(lease)) t.grantedAt.set(lease, seq);
      }
      if (m.type === "ack" && m.of === "complete" && job) {
        const t = this.#trace(job);
        t.completeAcks++;
        // The edge answers a complete it cannot vouch for with an error, then the ack (the report arrived, it did not count).
        if (refusedJustBefore) t.completesRefused.add(lease);
        if (!t.firstCompleteAckAt.has(lease)) t.firstCompleteAckAt.set(lease, seq);
      }
      if (m.type === "error") this.edgeErrors.set(String(m.code), (this.edgeErrors.get(String(m.code)) ?? 0) + 1);
    } else {
      if (m.type === "complete" && job) this.#trace(job).completesSent.add(lease);
      if (m.type === "fail" && job) this.#trace(job).failsSent++;
    }
  }
}

import type { Direction } from "./proxy.ts";

export interface JobTrace {
  /** Leases the edge sent for this job (`job` frames). */
  leases: Set<string>;
  /** Leases for which an agent reported `complete`. */
  completesSent: Set<string>;
  /** `ack` of `complete` the edge sent back: more than one means the job succeeded twice. */
  completeAcks: number;
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

  #trace(jobId: string): JobTrace {
    let t = this.jobs.get(jobId);
    if (!t) {
      t = { leases: new Set(), completesSent: new Set(), completeAcks: 0, failsSent: 0, history: [] };
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
    if (dir === "down") {
      if (m.type === "job" && job) this.#trace(job).leases.add(lease);
      if (m.type === "ack" && m.of === "complete" && job) this.#trace(job).completeAcks++;
      if (m.type === "error") this.edgeErrors.set(String(m.code), (this.edgeErrors.get(String(m.code)) ?? 0) + 1);
    } else {
      if (m.type === "complete" && job) this.#trace(job).completesSent.add(lease);
      if (m.type === "fail" && job) this.#trace(job).failsSent++;
    }
  }
}

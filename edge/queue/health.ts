/**
 * Each rig's health: a short record of its outcomes, its run of retryable failures, and its
 * quarantine. Rows live in SQLite (a quarantine outlives a reconnect or an eviction) with a
 * cache in front; a success on a healthy rig changes memory only, so the hot path writes nothing.
 *
 * The rules (the queue's parts call them; rig-outcomes.ts decides refunds):
 * - QUARANTINE_AFTER retryable failures in a row (lease losses included) while another
 *   connected agent has a clean run quarantine the rig: no new work for a back-off
 *   (base × 2^(strikes−1), capped at BACKOFF_CAP × base), then one probe job at a time.
 * - The probe's success lifts the quarantine; its retryable failure quarantines again, longer.
 * - An agent that let a lease expire is unproven until a frame from it arrives: no work.
 * - FORGIVE_AFTER successes in a row clear the strikes (the back-off starts short again).
 */
export const QUARANTINE_AFTER = 3;
export const BACKOFF_CAP = 32;
export const FORGIVE_AFTER = 10;
const RECENT = 10;
const SWEEP_EVERY_MS = 60_000;
const FORGET_AFTER_MS = 86_400_000;

export type Outcome = "success" | "retryable_failure" | "lease_lost" | "failure";

export interface AgentHealth {
  agent_id: string;
  state: "ok" | "quarantined";
  /** Retryable failures in a row (reset by a success). */
  streak: number;
  /** Quarantines so far (each doubles the next back-off); cleared by FORGIVE_AFTER successes or an admin release. */
  strikes: number;
  reason: string | null;
  since: number | null;
  /** End of the back-off: from then on one probe job at a time. */
  until: number | null;
  probe_job: string | null;
  unproven_since: number | null;
  recent: Outcome[];
  updated_at: number;
  /** Successes in a row; memory only (losing it on a wake only delays forgiving strikes). */
  ok_run: number;
}

export interface HealthView {
  health: "ok" | "quarantined";
  health_reason: string | null;
  health_since: string | null;
  quarantine_until: string | null;
  quarantines: number;
  probe: "waiting" | "due" | "running" | null;
  proven_alive: boolean;
  recent_outcomes: Outcome[];
}

export interface FailureVerdict {
  /** The rig is quarantined after this failure (just now, or already). */
  quarantined: boolean;
  quarantinedNow: boolean;
}

type Row = Record<string, SqlStorageValue>;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function fromRow(r: Row): AgentHealth {
  return {
    agent_id: String(r.agent_id),
    state: r.state === "quarantined" ? "quarantined" : "ok",
    streak: Number(r.streak),
    strikes: Number(r.strikes),
    reason: (r.reason as string | null) ?? null,
    since: (r.since as number | null) ?? null,
    until: (r.until as number | null) ?? null,
    probe_job: (r.probe_job as string | null) ?? null,
    unproven_since: (r.unproven_since as number | null) ?? null,
    recent: JSON.parse(String(r.recent)) as Outcome[],
    updated_at: Number(r.updated_at),
    ok_run: 0,
  };
}

export class HealthBook {
  private readonly sql: SqlStorage;
  private readonly backoffBaseMs: number;
  private cache: Map<string, AgentHealth> | null = null;
  private sweptAt = 0;

  constructor(sql: SqlStorage, backoffBaseMs: number) {
    this.sql = sql;
    this.backoffBaseMs = backoffBaseMs;
  }

  private all(): Map<string, AgentHealth> {
    this.cache ??= new Map(this.sql.exec<Row>(`SELECT * FROM agent_health`).toArray().map((r) => [String(r.agent_id), fromRow(r)]));
    return this.cache;
  }

  private of(id: string, now: number): AgentHealth {
    let h = this.all().get(id);
    if (!h) {
      h = { agent_id: id, state: "ok", streak: 0, strikes: 0, reason: null, since: null, until: null, probe_job: null, unproven_since: null, recent: [], updated_at: now, ok_run: 0 };
      this.all().set(id, h);
    }
    return h;
  }

  private save(h: AgentHealth, now: number): void {
    h.updated_at = now;
    this.sql.exec(
      `INSERT OR REPLACE INTO agent_health (agent_id, state, streak, strikes, reason, since, until, probe_job, unproven_since, recent, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      h.agent_id, h.state, h.streak, h.strikes, h.reason, h.since, h.until, h.probe_job, h.unproven_since, JSON.stringify(h.recent), now,
    );
  }

  private note(h: AgentHealth, outcome: Outcome): void {
    h.recent.push(outcome);
    if (h.recent.length > RECENT) h.recent.splice(0, h.recent.length - RECENT);
  }

  backoffMs(strikes: number): number {
    return this.backoffBaseMs * Math.min(BACKOFF_CAP, 2 ** Math.max(0, strikes - 1));
  }

  isQuarantined(id: string): boolean {
    return this.all().get(id)?.state === "quarantined";
  }

  /** Healthy and not in a run of failures: the evidence that the pool itself works. */
  isClean(id: string): boolean {
    const h = this.all().get(id);
    return !h || (h.state === "ok" && h.streak === 0 && h.unproven_since === null);
  }

  isHealthy(id: string): boolean {
    const h = this.all().get(id);
    return !h || (h.state === "ok" && h.unproven_since === null);
  }

  /**
   * How many more jobs this agent may take on health grounds (the dispatcher takes the smaller
   * of this and its free slots): none while unproven or backing off, one probe at a time after.
   */
  allowance(id: string, now: number, held: number): number {
    const h = this.all().get(id);
    if (!h) return Number.POSITIVE_INFINITY;
    if (h.unproven_since !== null) return 0;
    if (h.state === "ok") return Number.POSITIVE_INFINITY;
    return h.until !== null && now >= h.until && held === 0 ? 1 : 0;
  }

  /** A frame arrived: the agent has proven it is alive. */
  heard(id: string, now: number): void {
    const h = this.all().get(id);
    if (!h || h.unproven_since === null) return;
    h.unproven_since = null;
    this.save(h, now);
  }

  markUnproven(id: string, now: number): void {
    const h = this.of(id, now);
    if (h.unproven_since !== null) return;
    h.unproven_since = now;
    this.save(h, now);
  }

  /** A job was leased to this agent; on a quarantined rig past its back-off, it is the probe. */
  leased(id: string, jobId: string, now: number): void {
    const h = this.all().get(id);
    if (!h || h.state !== "quarantined") return;
    h.probe_job = jobId;
    this.save(h, now);
  }

  success(id: string, jobId: string, now: number): void {
    const h = this.of(id, now);
    this.note(h, "success");
    h.ok_run++;
    const wasStreak = h.streak > 0;
    h.streak = 0;
    if (h.state === "quarantined" && h.probe_job === jobId) {
      Object.assign(h, { state: "ok", reason: null, since: null, until: null, probe_job: null });
      return this.save(h, now);
    }
    if (h.ok_run >= FORGIVE_AFTER && h.strikes > 0) {
      h.strikes = 0;
      return this.save(h, now);
    }
    if (wasStreak) this.save(h, now);
  }

  /** An outcome that says nothing about the rig (the job's own error, a timeout): recorded, nothing else. */
  neutral(id: string, now: number): void {
    this.note(this.of(id, now), "failure");
  }

  /**
   * A retryable failure (or a lost lease) on this rig. `cleanPeer`: whether another connected
   * agent has a clean run (asked only when the streak reaches the bound).
   */
  failure(id: string, jobId: string, outcome: "retryable_failure" | "lease_lost", error: { code: string; message: string }, now: number, cleanPeer: () => boolean): FailureVerdict {
    const h = this.of(id, now);
    this.note(h, outcome);
    h.streak++;
    h.ok_run = 0;
    const last = `${error.code}: ${error.message.slice(0, 200)}`;
    if (h.state === "quarantined") {
      if (h.probe_job === jobId) {
        h.strikes++;
        Object.assign(h, { probe_job: null, until: now + this.backoffMs(h.strikes), reason: `the probe job failed (${last})` });
      }
      this.save(h, now);
      return { quarantined: true, quarantinedNow: false };
    }
    if (h.streak >= QUARANTINE_AFTER && cleanPeer()) {
      h.strikes++;
      Object.assign(h, {
        state: "quarantined", since: now, until: now + this.backoffMs(h.strikes), probe_job: null,
        reason: `${h.streak} retryable failures in a row while another agent has none (last: ${last})`,
      });
      this.save(h, now);
      return { quarantined: true, quarantinedNow: true };
    }
    this.save(h, now);
    return { quarantined: false, quarantinedNow: false };
  }

  /** An operator lifts the quarantine (and the strikes); false when this queue knows nothing of the agent. */
  release(id: string, now: number, known: boolean): boolean {
    const h = this.all().get(id);
    if (!h) return known;
    Object.assign(h, { state: "ok", streak: 0, strikes: 0, reason: null, since: null, until: null, probe_job: null, unproven_since: null, ok_run: 0 });
    this.save(h, now);
    return true;
  }

  quarantinedCount(): number {
    let n = 0;
    for (const h of this.all().values()) if (h.state === "quarantined") n++;
    return n;
  }

  view(id: string, now: number, held: number): HealthView {
    const h = this.all().get(id);
    const probing = h?.state === "quarantined" ? (h.until !== null && now >= h.until ? (held > 0 && h.probe_job ? "running" : "due") : "waiting") : null;
    return {
      health: h?.state ?? "ok",
      health_reason: h?.reason ?? null,
      health_since: iso(h?.since ?? null),
      quarantine_until: h?.state === "quarantined" ? iso(h.until) : null,
      quarantines: h?.strikes ?? 0,
      probe: probing,
      proven_alive: (h?.unproven_since ?? null) === null,
      recent_outcomes: [...(h?.recent ?? [])],
    };
  }

  // ---------- attempts lost on a rig, refunded if it is quarantined ----------

  /** A job went back to the queue after an attempt failed on this rig. */
  noteLostAttempt(jobId: string, agentId: string, now: number): void {
    this.sql.exec(`INSERT INTO attempt_failures (job_id, agent_id, at) VALUES (?, ?, ?)`, jobId, agentId, now);
  }

  /** The rig is quarantined: every unfinished job gets back the attempts it lost there. Returns the jobs refunded. */
  refundLostAttempts(agentId: string): number {
    const refunded = this.sql.exec(
      `UPDATE jobs SET attempts = MAX(attempts - (SELECT count(*) FROM attempt_failures f WHERE f.job_id = jobs.id AND f.agent_id = ?), 0)
       WHERE id IN (SELECT job_id FROM attempt_failures WHERE agent_id = ?) AND state IN ('queued', 'leased', 'running')`,
      agentId, agentId,
    ).rowsWritten;
    this.sql.exec(`DELETE FROM attempt_failures WHERE agent_id = ?`, agentId);
    return refunded;
  }

  /**
   * Forgets what no longer matters, at most once a minute: healthy rigs this queue no longer
   * knows, any rig unseen for a day, and lost attempts of jobs that have ended.
   */
  sweep(now: number, known: (id: string) => boolean): void {
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    for (const h of [...this.all().values()]) {
      if (known(h.agent_id)) continue;
      if (h.state === "ok" || now - h.updated_at > FORGET_AFTER_MS) {
        this.all().delete(h.agent_id);
        this.sql.exec(`DELETE FROM agent_health WHERE agent_id = ?`, h.agent_id);
      }
    }
    this.sql.exec(
      `DELETE FROM attempt_failures WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = attempt_failures.job_id AND j.state IN ('queued', 'leased', 'running'))`,
    );
  }
}

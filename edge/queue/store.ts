import type { HeldLeases, JobError, Output } from "../../shared/protocol.ts";
import type { Job, JobState, NewJob, ProgressState, WebhookState } from "./types.ts";
import { fairPosition, fairTag } from "./fair-share.ts";
import { listWhere, type JobListFilter } from "./job-list.ts";

/** What `leaseOf` reads. */
export type LeaseFacts = {
  seq: number;
  lease_id: string | null;
  state: JobState;
  max_outputs: number;
  handbacks: number;
  run_deadline: number | null;
  percent: number | null;
  phase: string | null;
};

/** What the upload route learnt of an output as it stored it. */
export interface StoredUpload {
  bytes: number;
  content_type: string;
  sha256?: string | null;
  width?: number | null;
  height?: number | null;
}

type Row = Record<string, SqlStorageValue>;

/**
 * A job's requirements signature: its model files, and its node classes when it names any (a job
 * without classes keeps the models-only form older rows have). Jobs with the same signature queue
 * as one group that an agent either can or cannot run.
 */
export function requirementsSig(models: NewJob["models"], nodes: readonly string[] = []): string {
  const files = JSON.stringify(models.map((m) => `${m.folder}/${m.name}`).sort());
  return nodes.length ? `${files}+${JSON.stringify([...new Set(nodes)].sort())}` : files;
}

/** Most signatures `nextFor` binds one by one (Durable Object SQLite allows 100 bound parameters). */
const MAX_BOUND_SIGS = 90;

export const DISPATCH_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000, 60000];

const JSON_COLUMNS = ["models", "inputs", "progress", "outputs", "error", "webhook"] as const;

/** The job row's columns; params and the compiled graph live in `job_payloads`, read once per lease. */
const COLUMNS = [
  "seq", "id", "owner", "workflow_id", "pool", "state", "priority", "attempts", "max_attempts", "models", "models_sig",
  "inputs", "seed", "output_format", "quality", "timeout_s", "lease_id", "lease_expires", "agent_id", "progress",
  "outputs", "error", "created_at", "enqueued_at", "started_at", "finished_at", "expires_at", "idem_key", "idem_hash",
  "webhook_url", "webhook", "webhook_next_at", "run_deadline", "timeouts", "retry_on_timeout", "max_outputs", "outputs_dropped", "handbacks", "batch_id", "previews",
  "graph_sha256", "fetch_ms",
].join(", ");

function toJob(row: Row): Job {
  const job = { ...row } as Record<string, unknown>;
  for (const col of JSON_COLUMNS) {
    const v = row[col];
    job[col] = typeof v === "string" ? JSON.parse(v) : null;
  }
  return job as unknown as Job;
}

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/**
 * The job table and its state transitions. Each transition is one conditional UPDATE (or
 * a short synchronous transaction) that names the state it moves from: a transition whose
 * precondition no longer holds (a stale lease, a finished job) changes nothing and returns
 * null, which is how a late or duplicate message is refused.
 */
export class JobStore {
  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;
  private readonly heldCache = new Map<string, HeldLeases>();
  private readonly pendingCounts = new Map<string, number>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
    this.sql = storage.sql;
  }

  get(id: string): Job | null {
    const row = this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`, id).toArray()[0];
    return row ? toJob(row) : null;
  }

  /**
   * The few facts the hot paths ask of a job (whose lease, what state, its output limit, the
   * last progress percent), read without parsing the row's JSON columns.
   */
  leaseOf(id: string): LeaseFacts | null {
    return (
      this.sql
        .exec<LeaseFacts>(
          `SELECT seq, lease_id, state, max_outputs, handbacks, run_deadline,
             json_extract(progress, '$.percent') AS percent, json_extract(progress, '$.phase') AS phase FROM jobs WHERE id = ?`,
          id,
        )
        .toArray()[0] ?? null
    );
  }

  /** The compiled ComfyUI graph as stored (JSON text), for the job message. */
  graphJson(seq: number): string {
    return this.sql.exec<{ graph: string }>(`SELECT graph FROM job_payloads WHERE seq = ?`, seq).one().graph;
  }

  /** The jobs of one batch, in the order they were made. */
  batch(batchId: string): Job[] {
    return this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE batch_id = ? ORDER BY seq`, batchId).toArray().map(toJob);
  }

  /** Stores every job of a batch or none (one transaction). */
  insertAll(jobs: NewJob[], maxAttempts: number, now: number): { jobs: Job[]; newModelSet: boolean } {
    return this.storage.transactionSync(() => {
      const out = jobs.map((j) => this.insertRows(j, maxAttempts, now));
      return { jobs: out.map((o) => o.job), newModelSet: out.some((o) => o.newModelSet) };
    });
  }

  /** A page of jobs, newest first (`GET /v1/jobs`). */
  list(filter: JobListFilter): Job[] {
    const { where, binds } = listWhere(filter);
    return this.sql
      .exec<Row>(`SELECT ${COLUMNS} FROM jobs ${where} ORDER BY created_at DESC, id DESC LIMIT ?`, ...binds, filter.limit)
      .toArray()
      .map(toJob);
  }

  byIdempotencyKey(owner: string, key: string): Job | null {
    const row = this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE owner = ? AND idem_key = ?`, owner, key).toArray()[0];
    return row ? toJob(row) : null;
  }

  queuedCountFor(owner: string): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE owner = ? AND state = 'queued'`, owner).one().n;
  }

  queueDepth(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE state = 'queued'`).one().n;
  }

  countsByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.sql.exec<{ state: string; n: number }>(`SELECT state, count(*) AS n FROM jobs GROUP BY state`)) out[r.state] = r.n;
    return out;
  }

  /** 1-based position among queued jobs, in dispatch order (priority, then fair share between keys, then arrival). */
  positionOf(job: Job): number {
    return fairPosition(this.sql, job.id);
  }

  /** Inserts a queued job; `newModelSet` tells whether its model combination was never seen here before. */
  insert(j: NewJob, maxAttempts: number, now: number): { job: Job; newModelSet: boolean } {
    // One transaction: a payload that fails to insert must not leave a job without its graph.
    return this.storage.transactionSync(() => this.insertRows(j, maxAttempts, now));
  }

  private insertRows(j: NewJob, maxAttempts: number, now: number): { job: Job; newModelSet: boolean } {
    const nodes = [...new Set(j.nodes ?? [])].sort();
    const sig = requirementsSig(j.models, nodes);
    const newModelSet =
      this.sql.exec(`INSERT OR IGNORE INTO model_sets (sig, models, nodes) VALUES (?, ?, ?)`, sig, JSON.stringify(j.models), JSON.stringify(nodes))
        .rowsWritten > 0;
    const row = this.sql
      .exec<{ seq: number }>(
        // params and graph: '' in the row (migration 1 made them NOT NULL), the values in job_payloads.
        `INSERT INTO jobs (id, owner, workflow_id, pool, state, priority, max_attempts, params, graph, models, models_sig, inputs,
          seed, output_format, quality, timeout_s, created_at, enqueued_at, idem_key, idem_hash, webhook_url, retry_on_timeout, fair_tag, max_outputs, batch_id, previews, graph_sha256)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, '', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
        j.id, j.owner, j.workflow_id, j.pool, j.priority, maxAttempts, JSON.stringify(j.models), sig, JSON.stringify(j.inputs), j.seed, j.output_format, j.quality, j.timeout_s, now, now,
        j.idem_key, j.idem_hash, j.webhook_url, j.retry_on_timeout ?? 1, fairTag(this.sql, j.owner, j.priority), j.max_outputs ?? 64, j.batch_id ?? null, j.previews ? 1 : 0,
        j.graph_sha256 ?? null,
      )
      .one();
    this.sql.exec(`INSERT INTO job_payloads (seq, params, graph) VALUES (?, ?, ?)`, row.seq, j.params_json, j.graph_json);
    const job: Job = {
      seq: row.seq, id: j.id, owner: j.owner, workflow_id: j.workflow_id, pool: j.pool, state: "queued", priority: j.priority,
      attempts: 0, max_attempts: maxAttempts, models: j.models, models_sig: sig, inputs: j.inputs, seed: j.seed,
      output_format: j.output_format, quality: j.quality, timeout_s: j.timeout_s, lease_id: null, lease_expires: null,
      agent_id: null, progress: null, outputs: null, error: null, created_at: now, enqueued_at: now, started_at: null,
      finished_at: null, expires_at: null, idem_key: j.idem_key, idem_hash: j.idem_hash, webhook_url: j.webhook_url,
      webhook: null, webhook_next_at: null, run_deadline: null, timeouts: 0, retry_on_timeout: j.retry_on_timeout ?? 1,
      max_outputs: j.max_outputs ?? 64, outputs_dropped: 0, handbacks: 0, batch_id: j.batch_id ?? null, previews: j.previews ? 1 : 0,
      graph_sha256: j.graph_sha256 ?? null,
    };
    return { job, newModelSet };
  }

  /**
   * For each model signature with queued jobs (one pass over the queue): its models, since when its
   * oldest job waits, and since when no connected agent could run it (null: one could at the last look).
   */
  queuedSince(): { sig: string; models: string; nodes: string; since: number; hopeless_since: number | null }[] {
    return this.sql
      .exec<{ sig: string; models: string; nodes: string; since: number; hopeless_since: number | null }>(
        `SELECT q.sig, m.models, m.nodes, q.since, m.hopeless_since FROM
           (SELECT models_sig AS sig, MIN(enqueued_at) AS since FROM jobs WHERE state = 'queued' GROUP BY models_sig) q
         JOIN model_sets m ON m.sig = q.sig`,
      )
      .toArray();
  }

  setHopelessSince(sig: string, since: number | null): void {
    this.sql.exec(`UPDATE model_sets SET hopeless_since = ? WHERE sig = ?`, since, sig);
  }

  /** Fails queued jobs of one model signature that have waited since `before` or longer (a bounded batch). */
  failWaiting(sig: string, before: number, error: JobError, now: number, retentionMs: number, limit = 200): Job[] {
    return this.sql
      .exec<Row>(
        `UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, expires_at = ?, lease_expires = NULL
         WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND models_sig = ? AND enqueued_at <= ? LIMIT ?)
         RETURNING ${COLUMNS}`,
        JSON.stringify(error), now, now + retentionMs, sig, before, limit,
      )
      .toArray()
      .map(toJob);
  }

  /**
   * The requirement signatures ever queued here (with a rowid above `after`), with their model
   * lists and node classes (few: one per workflow/model choice, more with raw graphs).
   */
  modelSets(after = 0): { rowid: number; sig: string; models: string; nodes: string }[] {
    return this.sql
      .exec<{ rowid: number; sig: string; models: string; nodes: string }>(`SELECT rowid, sig, models, nodes FROM model_sets WHERE rowid > ? ORDER BY rowid`, after)
      .toArray();
  }

  /** One signature's models and node classes (JSON text), null when unknown. */
  modelSet(sig: string): { sig: string; models: string; nodes: string } | null {
    return this.sql.exec<{ sig: string; models: string; nodes: string }>(`SELECT sig, models, nodes FROM model_sets WHERE sig = ?`, sig).toArray()[0] ?? null;
  }

  /** The next queued job (priority, then fair share between keys, then arrival) whose model signature is one of `sigs`. */
  nextFor(sigs: string[], skipJob: string | null = null): Job | null {
    if (sigs.length === 0) return null;
    // Past the bound-parameter limit the list goes as one JSON array.
    const many = sigs.length > MAX_BOUND_SIGS;
    const within = many ? `(SELECT value FROM json_each(?))` : `(${sigs.map(() => "?").join(",")})`;
    const row = this.sql
      .exec<Row>(
        `SELECT ${COLUMNS} FROM jobs WHERE state = 'queued' AND models_sig IN ${within} AND id IS NOT ? ORDER BY priority DESC, fair_tag, seq LIMIT 1`,
        ...(many ? [JSON.stringify(sigs)] : sigs),
        skipJob,
      )
      .toArray()[0];
    return row ? toJob(row) : null;
  }

  /** Queued jobs in dispatch order (for matching new agents); bounded. */
  queued(limit: number): Job[] {
    return this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY priority DESC, fair_tag, seq LIMIT ?`, limit).toArray().map(toJob);
  }

  heldBy(agentId: string): Job[] {
    return this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE agent_id = ? AND state IN ('leased', 'running')`, agentId).toArray().map(toJob);
  }

  /** Leases an agent holds (and how many only upload); cached per agent and dropped whenever one of its jobs changes. */
  held(agentId: string): HeldLeases {
    let h = this.heldCache.get(agentId);
    if (h === undefined) {
      const r = this.sql
        .exec<{ total: number; uploading: number | null }>(
          `SELECT count(*) AS total, sum(json_extract(progress, '$.phase') = 'uploading') AS uploading
           FROM jobs WHERE agent_id = ? AND state IN ('leased', 'running')`,
          agentId,
        )
        .one();
      h = { total: r.total, uploading: r.uploading ?? 0 };
      this.heldCache.set(agentId, h);
    }
    return h;
  }

  heldCount(agentId: string): number {
    return this.held(agentId).total;
  }

  activeCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM jobs WHERE state IN ('leased', 'running')`).one().n;
  }

  // ---------- transitions ----------

  private update(id: string, set: string, where: string, ...args: SqlStorageValue[]): Job | null {
    const row = this.sql.exec<Row>(`UPDATE jobs SET ${set} WHERE id = ? AND ${where} RETURNING ${COLUMNS}`, ...args).toArray()[0];
    if (!row) return null;
    const job = toJob(row);
    // agent_id names the job's holder (or last holder), so its lease count may have changed.
    if (job?.agent_id) this.heldCache.delete(job.agent_id);
    return job;
  }

  lease(id: string, agentId: string, leaseId: string, expires: number): Job | null {
    return this.update(
      id,
      `state = 'leased', attempts = attempts + 1, lease_id = ?, lease_expires = ?, agent_id = ?, progress = NULL, run_deadline = NULL`,
      `state = 'queued'`,
      leaseId, expires, agentId, id,
    );
  }

  /** How long the leased job waited on model fetches for its agent (fetch-views.ts). */
  setFetchMs(id: string, ms: number): void {
    this.sql.exec(`UPDATE jobs SET fetch_ms = ? WHERE id = ?`, ms, id);
  }

  renew(id: string, leaseId: string, expires: number): boolean {
    return this.sql.exec(`UPDATE jobs SET lease_expires = ? WHERE id = ? AND lease_id = ? AND state IN ('leased', 'running')`, expires, id, leaseId)
      .rowsWritten > 0;
  }

  /**
   * Records progress (and renews the lease); the first `running` progress moves leased → running
   * and starts the attempt's clock: past `timeout_s` plus `runGraceMs` the edge fails it.
   */
  progress(id: string, leaseId: string, p: ProgressState, expires: number, now: number, runGraceMs = 10_000): Job | null {
    const runs = p.phase === "running" || p.phase === "uploading" ? 1 : 0;
    return this.update(
      id,
      `progress = ?, lease_expires = ?,
       state = CASE WHEN ? THEN 'running' ELSE state END,
       started_at = CASE WHEN started_at IS NULL AND ? THEN ? ELSE started_at END,
       run_deadline = CASE WHEN run_deadline IS NULL AND ? THEN ? + timeout_s * 1000 + ? ELSE run_deadline END`,
      `lease_id = ? AND state IN ('leased', 'running')`,
      JSON.stringify(p), expires, runs, runs, now, runs, now, runGraceMs, id, leaseId,
    );
  }

  /** `runMs` (the agent's measure of the run) dates the start when no progress reported it (never before the job was queued). */
  complete(id: string, leaseId: string, outputs: Output[], now: number, retentionMs: number, runMs = 0, dropped = 0): Job | null {
    return this.update(
      id,
      `state = 'succeeded', outputs = ?, finished_at = ?, expires_at = ?, lease_expires = NULL, started_at = COALESCE(started_at, MAX(?, enqueued_at)), outputs_dropped = ?`,
      `lease_id = ? AND state IN ('leased', 'running')`,
      JSON.stringify(outputs), now, now + retentionMs, now - Math.round(runMs), dropped, id, leaseId,
    );
  }

  /**
   * A failed attempt: back to the queue while attempts remain and the error is retryable, else
   * failed. A timeout is retried only `retry_on_timeout` times (a job that is always too slow
   * should not run max_attempts times). `refund`: the attempt is not the job's fault (its rig is
   * quarantined, see health.ts): back to the queue without counting it, even at the last attempt.
   */
  fail(id: string, leaseId: string, error: JobError, retryable: boolean, now: number, retentionMs: number, refund = false): Job | null {
    return this.storage.transactionSync(() => {
      const job = this.get(id);
      if (!job || job.lease_id !== leaseId || !(job.state === "leased" || job.state === "running")) return null;
      if (retryable && refund) {
        return this.update(
          id,
          `state = 'queued', attempts = MAX(attempts - 1, 0), lease_expires = NULL, progress = NULL, error = ?, enqueued_at = ?`,
          `lease_id = ?`,
          JSON.stringify(error), now, id, leaseId,
        );
      }
      const timeouts = job.timeouts + (error.code === "timeout" ? 1 : 0);
      if (timeouts !== job.timeouts) this.sql.exec(`UPDATE jobs SET timeouts = ? WHERE id = ?`, timeouts, id);
      if (retryable && job.attempts < job.max_attempts && (error.code !== "timeout" || timeouts <= job.retry_on_timeout)) {
        return this.update(
          id,
          `state = 'queued', lease_expires = NULL, progress = NULL, error = ?, enqueued_at = ?`,
          `lease_id = ?`,
          JSON.stringify(error), now, id, leaseId,
        );
      }
      return this.finish(id, "failed", error, now, retentionMs);
    });
  }

  /** Running attempts past their run deadline (timeout_s plus the grace), oldest first; bounded. */
  overdue(now: number, limit: number): Job[] {
    return this.sql
      .exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE state = 'running' AND run_deadline <= ? ORDER BY run_deadline LIMIT ?`, now, limit)
      .toArray()
      .map(toJob);
  }

  /** Hands a lease back without counting it as an attempt (a draining agent, a job it never started). */
  release(id: string, leaseId: string, now: number): Job | null {
    return this.update(
      id,
      // SET reads the row as it was: a hand-back of a started run is counted.
      `state = 'queued', attempts = MAX(attempts - 1, 0), lease_expires = NULL, progress = NULL, enqueued_at = ?,
       handbacks = handbacks + (CASE WHEN state = 'running' THEN 1 ELSE 0 END)`,
      `lease_id = ? AND state IN ('leased', 'running')`,
      now, id, leaseId,
    );
  }

  cancel(id: string, now: number, retentionMs: number): Job | null {
    return this.storage.transactionSync(() => {
      const job = this.get(id);
      if (!job || !["queued", "leased", "running"].includes(job.state)) return null;
      return this.finish(id, "cancelled", { code: "cancelled", message: "Cancelled by request." }, now, retentionMs);
    });
  }

  private finish(id: string, state: JobState, error: JobError, now: number, retentionMs: number): Job | null {
    return this.update(
      id,
      `state = ?, error = ?, finished_at = ?, expires_at = ?, lease_expires = NULL`,
      `state IN ('queued', 'leased', 'running')`,
      state, JSON.stringify(error), now, now + retentionMs, id,
    );
  }

  /**
   * Leases past their expiry: each goes back to the queue (attempt + 1 next time) or fails for
   * good. `refundOf` is asked first, per job, whether the lost attempt is refunded (see fail).
   */
  requeueExpired(now: number, retentionMs: number, refundOf?: (job: Job) => boolean): { requeued: Job[]; failed: Job[] } {
    const expired = this.sql
      .exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE state IN ('leased', 'running') AND lease_expires <= ?`, now)
      .toArray()
      .map(toJob);
    const requeued: Job[] = [];
    const failed: Job[] = [];
    for (const job of expired) {
      const error: JobError = {
        code: "lease_expired",
        message: `The agent running attempt ${job.attempts} of ${job.max_attempts} stopped responding (lease expired).`,
      };
      const after = this.fail(job.id, job.lease_id!, error, true, now, retentionMs, refundOf?.(job) ?? false);
      if (after?.state === "queued") requeued.push(after);
      else if (after) failed.push(after);
    }
    return { requeued, failed };
  }

  /** Ends an agent's leases now (it went silent): the next requeueExpired takes them back. */
  expireHeldBy(agentId: string, now: number): number {
    return this.sql.exec(`UPDATE jobs SET lease_expires = ? WHERE agent_id = ? AND state IN ('leased', 'running')`, now, agentId).rowsWritten;
  }

  setWebhook(id: string, state: WebhookState, nextAt: number | null): void {
    this.sql.exec(`UPDATE jobs SET webhook = ?, webhook_next_at = ? WHERE id = ?`, json(state), nextAt, id);
  }

  /** Webhooks due now, oldest first, leaving out owners that already have their fill in flight. */
  dueWebhooks(now: number, limit: number, skipOwners: string[] = []): Job[] {
    const skip = skipOwners.length ? `AND owner NOT IN (${skipOwners.map(() => "?").join(",")})` : "";
    return this.sql
      .exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE webhook_next_at <= ? ${skip} ORDER BY webhook_next_at LIMIT ?`, now, ...skipOwners, limit)
      .toArray()
      .map(toJob);
  }

  /** Records a delivery's outcome only if its claim (webhook_next_at = claimedUntil) still stands. */
  settleWebhook(id: string, claimedUntil: number, state: WebhookState, nextAt: number | null): boolean {
    return this.sql.exec(`UPDATE jobs SET webhook = ?, webhook_next_at = ? WHERE id = ? AND webhook_next_at = ?`, json(state), nextAt, id, claimedUntil).rowsWritten > 0;
  }

  expired(now: number, limit: number): Job[] {
    return this.sql.exec<Row>(`SELECT ${COLUMNS} FROM jobs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit).toArray().map(toJob);
  }

  delete(id: string): void {
    const gone = this.sql.exec<{ seq: number }>(`DELETE FROM jobs WHERE id = ? RETURNING seq`, id).toArray()[0];
    if (gone) this.sql.exec(`DELETE FROM job_payloads WHERE seq = ?`, gone.seq);
    this.forgetUploads(id);
  }

  // ---------- outputs a lease actually uploaded ----------

  /** An output the upload route stored under a current lease (a re-upload of the same key replaces it). */
  recordUpload(jobId: string, leaseId: string, key: string, stored: StoredUpload): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO lease_uploads (key, job_id, lease_id, bytes, content_type, sha256, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      key, jobId, leaseId, stored.bytes, stored.content_type, stored.sha256 ?? null, stored.width ?? null, stored.height ?? null,
    );
  }

  uploadsOf(jobId: string, leaseId: string): Map<string, StoredUpload> {
    const rows = this.sql
      .exec<{ key: string; bytes: number; content_type: string; sha256: string | null; width: number | null; height: number | null }>(
        `SELECT key, bytes, content_type, sha256, width, height FROM lease_uploads WHERE job_id = ? AND lease_id = ?`, jobId, leaseId,
      )
      .toArray();
    return new Map(rows.map((r) => [r.key, { bytes: r.bytes, content_type: r.content_type, sha256: r.sha256, width: r.width, height: r.height }]));
  }

  /** Once a job is settled its outputs live in its row; the upload records go. */
  forgetUploads(jobId: string): void {
    this.sql.exec(`DELETE FROM lease_uploads WHERE job_id = ?`, jobId);
  }

  /**
   * The earliest moment something time-based is due: a lease expiry, a run deadline, a webhook
   * retry (those due by `heldWebhooksUntil` left out), a retention sweep.
   */
  nextDeadline(heldWebhooksUntil = 0): number | null {
    // Webhooks already due wait for a delivery slot, not for a time: the pump starts them as slots
    // free (and sets its own backstop alarm), so counting them would spin the alarm meanwhile.
    const r = this.sql
      .exec<{ t: number | null }>(
        `SELECT MIN(t) AS t FROM (
          SELECT MIN(lease_expires) AS t FROM jobs WHERE state IN ('leased', 'running')
          UNION ALL SELECT MIN(run_deadline) FROM jobs WHERE state = 'running'
          UNION ALL SELECT MIN(webhook_next_at) FROM jobs WHERE webhook_next_at > ?
          UNION ALL SELECT MIN(expires_at) FROM jobs WHERE expires_at IS NOT NULL)`,
        heldWebhooksUntil,
      )
      .one();
    return r.t ?? null;
  }

  /** Counts in memory and writes the sums at most once a second (metrics do not need a write per job). */
  bump(counter: string, by = 1): void {
    this.pendingCounts.set(counter, (this.pendingCounts.get(counter) ?? 0) + by);
    this.flushTimer ??= setTimeout(() => this.flushCounters(), 1_000);
  }

  flushCounters(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const [name, by] of this.pendingCounts) {
      this.sql.exec(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`, name, by);
    }
    this.pendingCounts.clear();
  }

  /** Dispatch latency histogram (enqueue → lease), as Prometheus-style cumulative-ready buckets. */
  observeDispatch(ms: number): void {
    const le = DISPATCH_BUCKETS_MS.find((b) => ms <= b);
    this.bump(`dispatch_bucket_${le ?? "inf"}`);
    this.bump("dispatch_count");
    this.bump("dispatch_sum_us", Math.round(ms * 1000));
  }

  counters(): Record<string, number> {
    this.flushCounters();
    const out: Record<string, number> = {};
    for (const r of this.sql.exec<{ name: string; value: number }>(`SELECT name, value FROM counters`)) out[r.name] = r.value;
    return out;
  }
}

import { DurableObject } from "cloudflare:workers";
import type { TaskView } from "../../shared/api.ts";
import type { ErrorCode, FieldError } from "../../shared/errors.ts";
import type { EdgeMessage } from "../../shared/protocol.ts";
import { rigCanRun, type Requirements } from "../../shared/requirements.ts";
import { expiryFrom, signedUrl } from "../auth/signing.ts";
import { configOf, type Config, type Env } from "../env.ts";
import { scheduleWebhook } from "../webhooks/deliver.ts";
import { WebhookPump } from "../webhooks/pump.ts";
import { onAgentFrame, type AgentAttachment } from "./agent-session.ts";
import { AgentRegistry, type AgentRecord } from "./agents.ts";
import type { QueueCore } from "./core.ts";
import { dispatchJob, fillAgent, fillAll, freeSlots } from "./dispatcher.ts";
import { HealthBook, type HealthView } from "./health.ts";
import { closeSilentAgents, nextSilenceCheck, requeueExpiredLeases } from "./liveness.ts";
import { migrate } from "./migrations.ts";
import { failHopelessJobs, waitCheckMs } from "./waiting.ts";
import { expireFetches, fetchBook, onAgentGoneFetches, planFetches } from "./model-fetch.ts";
import { agentFetchView, fetchWaitingFor } from "./fetch-views.ts";
import { closestGap, describeGap } from "./gaps.ts";
import { agentsReady, refuseUnknownNodes } from "./node-check.ts";
import { failOverdueRuns } from "./timeouts.ts";
import { CapCheck } from "./cap-check.ts";
import { RateLimiter } from "./rate-limit.ts";
import { UploadDesk, type DeskResult } from "../uploads/desk.ts";
import { uploadRegistry } from "../uploads/stub.ts";
import { JobStore, type StoredUpload } from "./store.ts";
import { Subscribers } from "./subscribers.ts";
import { FinishWaiters } from "./finish-waiters.ts";
import type { JobListFilter } from "./job-list.ts";
import { TERMINAL_STATES, type Job, type NewJob } from "./types.ts";
import { taskView } from "./views.ts";

export type QueueResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string; retry_after_s?: number; details?: FieldError[] };

interface EventsAttachment {
  kind: "events";
  task_id: string;
}

export interface AgentView {
  agent_id: string;
  name: string;
  version: string;
  pool: string;
  connected: boolean;
  accepting: boolean;
  /** Why the agent takes no jobs (e.g. its ComfyUI is unreachable), null while it does. */
  pause_reason: string | null;
  capacity: number;
  prefetch: number;
  gpu: AgentRecord["gpu"];
  inventory: AgentRecord["inventory"];
  last_model: string | null;
  /** Models on demand: free disk, budget and the files it fetched (null: it does not fetch), and its fetches in progress. */
  model_store: AgentRecord["model_store"];
  fetches: { fetch_id: string; model: string; bytes: number; total: number | null; started_at: string }[];
  /** Its ComfyUI's version and node catalog (digest, number of classes; GET /agents/{id}/nodes lists them); null: not reported. */
  comfyui_version: string | null;
  nodes: { digest: string; classes: number } | null;
  jobs: { task_id: string; state: string; lease_expires: number | null }[];
  connected_at: string;
  last_heartbeat: string;
}

/** An agent as `GET /agents` shows it: its record, its leases and its health (health.ts). */
export type AgentListing = AgentView & HealthView;

export interface QueueMetrics {
  pool: string;
  jobs_by_state: Record<string, number>;
  queue_depth: number;
  agents_connected: number;
  agents_busy: number;
  agents_quarantined: number;
  counters: Record<string, number>;
}

/**
 * One pool's job queue: jobs in SQLite, agents on hibernatable WebSockets, watchers of
 * tasks on tagged sockets. The platform entry points only parse, log and delegate to the
 * store's named transitions and the dispatcher.
 */
export class JobQueue extends DurableObject<Env> implements QueueCore {
  readonly store: JobStore;
  readonly agents: AgentRegistry;
  readonly health: HealthBook;
  readonly config: Config;
  readonly state: DurableObjectState;
  private readonly subscribers: Subscribers;
  private readonly finishWaiters = new FinishWaiters();
  private readonly limiter: RateLimiter;
  private readonly caps = new CapCheck();
  private readonly webhooks = new WebhookPump(this);
  private connectedIds: Set<string> | null = null;
  private alarmAt: number | null | undefined;
  /** When the queue next looks for jobs no agent can run, and when the next of those falls due. */
  private waitCheckAt = 0;
  private waitDueAt: number | null = null;

  /** Client uploads on record: used only in the uploads registry object (edge/uploads/stub.ts). */
  readonly inputUploads: UploadDesk;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configOf(env);
    migrate(ctx.storage);
    this.store = new JobStore(ctx.storage);
    this.agents = new AgentRegistry(ctx.storage.sql);
    this.health = new HealthBook(ctx.storage.sql, this.config.QUARANTINE_BACKOFF_MS);
    this.subscribers = new Subscribers(this);
    this.limiter = new RateLimiter(this.config.RATE_LIMIT_PER_MIN);
    this.inputUploads = new UploadDesk(ctx.storage.sql, this.config, env.FILES, (at) => this.armAlarm(at));
    this.state = ctx;
    // Learn the pending alarm before any event runs, so armAlarm never pushes an earlier one later.
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ---------- QueueCore ----------

  now(): number {
    return Date.now();
  }

  send(ws: WebSocket, msg: EdgeMessage): boolean {
    return this.sendText(ws, JSON.stringify(msg));
  }

  sendText(ws: WebSocket, text: string): boolean {
    try {
      ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Agents with a welcomed socket; rebuilt from the sockets' attachments after a wake. */
  private connected(): Set<string> {
    if (!this.connectedIds) {
      this.connectedIds = new Set();
      for (const ws of this.ctx.getWebSockets("agent")) {
        const att = ws.deserializeAttachment() as AgentAttachment | null;
        if (att?.hello) this.connectedIds.add(att.agent_id);
      }
    }
    return this.connectedIds;
  }

  isConnected(agentId: string): boolean {
    return this.connected().has(agentId);
  }

  markConnected(agentId: string): void {
    this.connected().add(agentId);
  }

  markDisconnected(agentId: string): void {
    this.connected().delete(agentId);
  }

  agentSockets(agentId: string): WebSocket[] {
    return this.ctx.getWebSockets(`agent:${agentId}`).filter((ws) => (ws.deserializeAttachment() as AgentAttachment | null)?.hello);
  }

  notify(job: Job): void {
    this.ctx.waitUntil(this.subscribers.publishState(job));
    if (TERMINAL_STATES.includes(job.state)) {
      this.finishWaiters.settle(job.id);
      if (scheduleWebhook(this, job)) this.webhooks.pump();
      this.store.forgetUploads(job.id);
      this.ctx.waitUntil(this.sweepObjects(job));
    }
  }

  notifyProgress(job: Job): void {
    this.subscribers.publishProgress(job);
  }

  notifyPreview(job: Job, preview: { content_type: "image/jpeg" | "image/png" | "image/webp"; data: string; node_id: string | null }): void {
    if (!this.subscribers.has(job.id)) return;
    this.subscribers.publish(job.id, { type: "preview", task_id: job.id, ...preview }, false);
  }

  armAlarm(at: number): void {
    if (this.alarmAt !== undefined && this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    this.ctx.storage.setAlarm(at).catch((e) => console.error(JSON.stringify({ msg: "JobQueue setAlarm failed", error: String(e) })));
  }

  async inputUrls(job: Job): Promise<{ node_id: string; input: string; url: string; filename: string }[]> {
    const exp = Math.floor(this.now() / 1000) + job.timeout_s + 600;
    return Promise.all(
      job.inputs.map(async (i) => {
        const key = `in/${i.upload_id}`;
        return { node_id: i.node_id, input: i.input, filename: `${i.upload_id}.png`, url: await signedUrl(this.config.PUBLIC_URL, `/files/${key}`, this.config.SIGNING_KEY, "file", key, exp) };
      }),
    );
  }

  // ---------- RPC from the Worker ----------

  async enqueue(job: NewJob): Promise<QueueResult<{ task_id: string; created: boolean; seed: number | null }>> {
    const now = this.now();
    if (job.idem_key) {
      const existing = this.store.byIdempotencyKey(job.owner, job.idem_key);
      if (existing) {
        if (existing.idem_hash === job.idem_hash) return { ok: true, value: { task_id: existing.id, created: false, seed: existing.seed } };
        return { ok: false, code: "idempotency_conflict", message: "This Idempotency-Key was already used with a different body; use a new key for a new job." };
      }
    }
    const unknown = refuseUnknownNodes(this, [job], job.pool);
    if (unknown) return { ok: false, ...unknown };
    const wait = this.limiter.take(job.owner, now);
    if (wait > 0) {
      return { ok: false, code: "rate_limited", message: `Too many submissions for this key (limit ${this.config.RATE_LIMIT_PER_MIN}/min); retry in ${wait} s.`, retry_after_s: wait };
    }
    if (this.caps.atLimit(`owner:${job.owner}`, this.config.MAX_QUEUED_PER_KEY, () => this.store.queuedCountFor(job.owner), now)) {
      return { ok: false, code: "queue_full", message: `This key already has ${this.config.MAX_QUEUED_PER_KEY} jobs queued (the per-key cap); wait for some to start.`, retry_after_s: 10 };
    }
    if (this.caps.atLimit("depth", this.config.MAX_QUEUE_DEPTH, () => this.store.queueDepth(), now)) {
      return { ok: false, code: "queue_full", message: `The ${job.pool} queue is full (${this.config.MAX_QUEUE_DEPTH} jobs); retry later.`, retry_after_s: 30 };
    }
    const { job: stored, newModelSet } = this.store.insert(job, this.config.MAX_ATTEMPTS, now);
    if (newModelSet) this.agents.modelSetsChanged();
    this.store.bump("jobs_submitted");
    // A job no connected agent can run may have its models fetched (model-fetch.ts).
    this.ctx.waitUntil(dispatchJob(this, stored).then((leased) => leased || planFetches(this, stored.models_sig)));
    // If no agent can run it, the alarm's look at waiting jobs starts its MAX_WAIT_S clock.
    this.armAlarm(now + waitCheckMs(this.config.MAX_WAIT_S));
    return { ok: true, value: { task_id: stored.id, created: true, seed: stored.seed } };
  }

  /**
   * Stores the jobs of one batch (`count` on a submit): every job or none. Rate limits and
   * per-key caps count each job; an Idempotency-Key names the whole batch (its first job).
   */
  async enqueueBatch(jobs: NewJob[]): Promise<QueueResult<{ batch_id: string; task_ids: string[]; created: boolean; seeds: (number | null)[] }>> {
    const first = jobs[0]!;
    const now = this.now();
    if (first.idem_key) {
      const existing = this.store.byIdempotencyKey(first.owner, first.idem_key);
      if (existing) {
        if (existing.idem_hash !== first.idem_hash || !existing.batch_id) {
          return { ok: false, code: "idempotency_conflict", message: "This Idempotency-Key was already used with a different body; use a new key for a new job." };
        }
        const batch = this.store.batch(existing.batch_id);
        return { ok: true, value: { batch_id: existing.batch_id, task_ids: batch.map((j) => j.id), created: false, seeds: batch.map((j) => j.seed) } };
      }
    }
    const unknown = refuseUnknownNodes(this, jobs, first.pool);
    if (unknown) return { ok: false, ...unknown };
    const n = jobs.length;
    const wait = this.limiter.take(first.owner, now, n);
    if (wait > 0) {
      return { ok: false, code: "rate_limited", message: `Too many submissions for this key (limit ${this.config.RATE_LIMIT_PER_MIN}/min, ${n} for this batch); retry in ${wait} s.`, retry_after_s: wait };
    }
    if (this.store.queuedCountFor(first.owner) + n > this.config.MAX_QUEUED_PER_KEY) {
      return { ok: false, code: "queue_full", message: `This batch of ${n} would pass the per-key cap of ${this.config.MAX_QUEUED_PER_KEY} queued jobs; wait for some to start.`, retry_after_s: 10 };
    }
    if (this.store.queueDepth() + n > this.config.MAX_QUEUE_DEPTH) {
      return { ok: false, code: "queue_full", message: `The ${first.pool} queue has no room for ${n} more jobs (${this.config.MAX_QUEUE_DEPTH} at most); retry later.`, retry_after_s: 30 };
    }
    const { jobs: stored, newModelSet } = this.store.insertAll(jobs, this.config.MAX_ATTEMPTS, now);
    if (newModelSet) this.agents.modelSetsChanged();
    const dispatched = stored.map((job) => {
      this.store.bump("jobs_submitted");
      return dispatchJob(this, job);
    });
    this.ctx.waitUntil(
      Promise.all(dispatched).then((leased) => {
        for (const sig of new Set(stored.filter((_, i) => !leased[i]).map((j) => j.models_sig))) planFetches(this, sig);
      }),
    );
    this.armAlarm(now + waitCheckMs(this.config.MAX_WAIT_S));
    return { ok: true, value: { batch_id: first.batch_id!, task_ids: stored.map((j) => j.id), created: true, seeds: stored.map((j) => j.seed) } };
  }

  /** Every job of a batch as task views, in the order they were made; null when `owner` has none. */
  async getBatch(batchId: string, owner: string | null): Promise<TaskView[] | null> {
    const jobs = this.store.batch(batchId).filter((j) => owner === null || j.owner === owner);
    if (jobs.length === 0) return null;
    const now = this.now();
    return Promise.all(jobs.map((job) => taskView(job, this.config, job.state === "queued" ? this.queueInfo(job) : null, now)));
  }

  /** Cancels every job of a batch that has not ended; returns the batch's views after. */
  async cancelBatch(batchId: string, owner: string | null): Promise<TaskView[] | null> {
    const jobs = this.store.batch(batchId).filter((j) => owner === null || j.owner === owner);
    if (jobs.length === 0) return null;
    for (const job of jobs) if (!TERMINAL_STATES.includes(job.state)) await this.cancelTask(job.id, owner);
    return this.getBatch(batchId, owner);
  }

  private visible(id: string, owner: string | null): Job | null {
    const job = this.store.get(id);
    return job && (owner === null || job.owner === owner) ? job : null;
  }

  async getTask(id: string, owner: string | null): Promise<TaskView | null> {
    const job = this.visible(id, owner);
    if (!job) return null;
    return taskView(job, this.config, job.state === "queued" ? this.queueInfo(job) : null, this.now());
  }

  /**
   * The task once it has ended, waiting up to `ms` for that (`Prefer: wait`); null when it is
   * still running then (or unknown to `owner`). Released by the state change, not by polling.
   */
  async awaitFinished(id: string, owner: string | null, ms: number): Promise<TaskView | null> {
    let job = this.visible(id, owner);
    if (!job) return null;
    if (!TERMINAL_STATES.includes(job.state)) {
      if (!(await this.finishWaiters.wait(id, ms))) return null;
      job = this.visible(id, owner);
      if (!job || !TERMINAL_STATES.includes(job.state)) return null;
    }
    return taskView(job, this.config, null, this.now());
  }

  /** A page of this pool's jobs, newest first, as task views with fresh links. */
  async listJobs(filter: JobListFilter): Promise<{ views: TaskView[]; created: number[] }> {
    const jobs = this.store.list(filter);
    const now = this.now();
    const views = await Promise.all(jobs.map((job) => taskView(job, this.config, job.state === "queued" ? this.queueInfo(job) : null, now)));
    return { views, created: jobs.map((j) => j.created_at) };
  }

  async cancelTask(id: string, owner: string | null): Promise<QueueResult<TaskView>> {
    const job = this.visible(id, owner);
    if (!job) return { ok: false, code: "not_found", message: `No task ${id}.` };
    const before = job;
    const after = this.store.cancel(id, this.now(), this.config.RETENTION_DAYS * 86_400_000);
    if (!after) return { ok: false, code: "not_cancellable", message: `Task ${id} already ended (${job.state}); nothing to cancel.` };
    if (before.agent_id && before.lease_id && (before.state === "leased" || before.state === "running")) {
      for (const ws of this.agentSockets(before.agent_id)) this.send(ws, { type: "cancel", job_id: id, lease_id: before.lease_id });
    }
    this.notify(after);
    if (before.agent_id) this.ctx.waitUntil(fillAll(this));
    return { ok: true, value: await taskView(after, this.config, null, this.now()) };
  }

  listAgents(pool: string): AgentListing[] {
    const now = this.now();
    return this.agents.list().map((a) => ({
      agent_id: a.agent_id,
      name: a.name,
      version: a.version,
      pool,
      connected: this.isConnected(a.agent_id),
      accepting: a.accepting,
      pause_reason: a.pause_reason,
      capacity: a.capacity,
      prefetch: a.prefetch,
      gpu: a.gpu,
      inventory: a.inventory,
      last_model: a.last_model,
      ...agentFetchView(this, a.agent_id, a.model_store),
      comfyui_version: a.comfyui_version,
      nodes: a.nodes_digest === null ? null : { digest: a.nodes_digest, classes: this.agents.classesOf(a)?.size ?? 0 },
      jobs: this.store.heldBy(a.agent_id).map((j) => ({ task_id: j.id, state: j.state, lease_expires: j.lease_expires })),
      connected_at: new Date(a.connected_at).toISOString(),
      last_heartbeat: new Date(a.last_seen).toISOString(),
      ...this.health.view(a.agent_id, now, this.store.heldCount(a.agent_id)),
    }));
  }

  /** An agent's node catalog (`GET /agents/{id}/nodes`); null when this queue does not know the agent. */
  agentNodes(agentId: string): { agent_id: string; comfyui_version: string | null; digest: string | null; classes: string[] | null } | null {
    const a = this.agents.get(agentId);
    if (!a) return null;
    return { agent_id: a.agent_id, comfyui_version: a.comfyui_version, digest: a.nodes_digest, classes: this.agents.classListOf(a) };
  }

  /** For each requirements set (a workflow at its defaults), how many connected agents can run it now (`GET /workflows`). */
  agentsReady(reqs: Requirements[]): number[] {
    return agentsReady(this, reqs);
  }

  /** An operator lifts an agent's quarantine; false when this queue does not know the agent. */
  async releaseAgent(agentId: string): Promise<boolean> {
    const released = this.health.release(agentId, this.now(), this.agents.get(agentId) !== undefined);
    if (released) await fillAgent(this, agentId);
    return released;
  }

  /** Asks a connected agent to drain: it takes no new jobs, finishes or hands back the rest, and exits. */
  drainAgent(agentId: string, reason: string): boolean {
    if (!this.isConnected(agentId)) return false;
    this.agents.setAccepting(agentId, false, `draining: ${reason}`.slice(0, 256));
    return this.agentSockets(agentId).some((ws) => this.send(ws, { type: "drain", reason }));
  }

  metrics(pool: string): QueueMetrics {
    const connected = this.agents.list().filter((a) => this.isConnected(a.agent_id));
    return {
      pool,
      jobs_by_state: this.store.countsByState(),
      queue_depth: this.store.queueDepth(),
      agents_connected: connected.length,
      agents_busy: connected.filter((a) => this.store.heldCount(a.agent_id) > 0).length,
      agents_quarantined: this.health.quarantinedCount(),
      counters: this.store.counters(),
    };
  }

  /** Before an agent's upload is stored: only a lease still running may write (a settled lease's outputs are never replaced). */
  async uploadAllowed(jobId: string, leaseId: string, index = 0): Promise<boolean> {
    const job = this.store.leaseOf(jobId);
    // The index bound is the grant's max_files (the workflow's max_outputs).
    return job !== null && job.lease_id === leaseId && (job.state === "leased" || job.state === "running") && index < job.max_outputs;
  }

  /**
   * After an agent's upload lands: recorded as one of the lease's outputs (what a `complete` may
   * name) if the lease is still current; otherwise deleted, so no orphan outlives a stale lease,
   * unless the key is an output the job already delivered (an upload racing its own completion).
   */
  async uploadFinished(jobId: string, leaseId: string, key: string, stored?: StoredUpload): Promise<boolean> {
    const lease = this.store.leaseOf(jobId);
    const current = lease !== null && lease.lease_id === leaseId && (lease.state === "leased" || lease.state === "running");
    if (current && stored) this.store.recordUpload(jobId, leaseId, key, stored);
    const delivered = !current && lease?.state === "succeeded" && (this.store.get(jobId)?.outputs ?? []).some((o) => o.key === key);
    if (!current && !delivered) await this.env.FILES.delete(key);
    return current;
  }

  // ---------- RPC to the uploads registry object ----------

  async reserveUpload(id: string, owner: string, bytes: number): Promise<DeskResult<null>> {
    return this.inputUploads.reserve(id, owner, bytes, this.now());
  }

  async confirmUpload(id: string, contentType: string, width: number, height: number): Promise<void> {
    this.inputUploads.confirm(id, contentType, width, height);
  }

  async dropUpload(id: string): Promise<void> {
    this.inputUploads.drop(id);
  }

  async holdUploads(ids: string[], owner: string | null): Promise<DeskResult<{ id: string; width: number; height: number }[]>> {
    return this.inputUploads.hold(ids, owner);
  }

  async releaseUploads(ids: string[]): Promise<void> {
    this.inputUploads.release(ids, this.now());
  }

  // ---------- platform entry points ----------

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket" && url.pathname === "/agent/connect") {
        return this.acceptAgent(url, request.headers.get("x-agent-key"));
      }
      const m = /^\/(events|sse)\/([^/]+)$/.exec(url.pathname);
      if (m) {
        const owner = request.headers.get("x-owner");
        const job = this.visible(m[2]!, owner === "*" ? null : owner);
        if (!job) return Response.json({ error: { code: "not_found", message: `No task ${m[2]}.` } }, { status: 404 });
        return m[1] === "sse" ? this.subscribers.openSse(job) : this.subscribers.openSocket(job);
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      console.error(JSON.stringify({ msg: "JobQueue fetch failed", path: url.pathname, error: String(e), stack: (e as Error).stack }));
      return Response.json({ error: { code: "internal", message: "The queue could not handle this request." } }, { status: 500 });
    }
  }

  /** `key`: the name of the agent key the Worker authenticated (routes/agent.ts), bound to the id at hello. */
  private acceptAgent(url: URL, key: string | null): Response {
    const agentId = url.searchParams.get("agent_id") ?? "";
    const pool = url.searchParams.get("pool") ?? "";
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, ["agent", `agent:${agentId}`]);
    server.serializeAttachment({ kind: "agent", agent_id: agentId, pool, hello: false, ...(key ? { key } : {}) } satisfies AgentAttachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const att = ws.deserializeAttachment() as AgentAttachment | EventsAttachment | null;
    try {
      if (att?.kind === "agent") await onAgentFrame(this, ws, att, message);
      // Task watchers only listen; anything they send is ignored.
    } catch (e) {
      console.error(JSON.stringify({ msg: "JobQueue webSocketMessage failed", error: String(e), stack: (e as Error).stack }));
      this.send(ws, { type: "error", code: "internal", message: "The edge could not process that frame; it changed nothing." });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const att = ws.deserializeAttachment() as AgentAttachment | EventsAttachment | null;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
    if (att?.kind === "agent") this.onAgentGone(att.agent_id, ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const att = ws.deserializeAttachment() as AgentAttachment | EventsAttachment | null;
    if (att?.kind === "agent") this.onAgentGone(att.agent_id, ws);
  }

  /** A socket went away. Its leases stay until they expire: the agent may be back in a moment. */
  private onAgentGone(agentId: string, ws: WebSocket): void {
    // Queued jobs only it could run start waiting in vain: the alarm looks at them.
    this.armAlarm(this.now() + waitCheckMs(this.config.MAX_WAIT_S));
    const others = this.ctx.getWebSockets(`agent:${agentId}`).filter((s) => s !== ws);
    if (!others.some((s) => (s.deserializeAttachment() as AgentAttachment | null)?.hello)) {
      this.connected().delete(agentId);
      // Its fetches in progress are lost; another agent may fetch those models.
      onAgentGoneFetches(this, agentId);
    }
    if (others.length === 0 && this.store.heldCount(agentId) === 0) this.agents.remove(agentId);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = this.now();
    // Silent agents first: their leases end now and go back with the expired ones.
    closeSilentAgents(this, now);
    const { requeued, failed } = requeueExpiredLeases(this, now);
    if (requeued.length || failed.length) this.store.bump("lease_expiries", requeued.length + failed.length);
    const timedOut = failOverdueRuns(this, now);
    for (const job of [...requeued, ...failed, ...timedOut]) this.notify(job);
    // Fetches past MODEL_FETCH_TIMEOUT_S count as failed: try another agent, or give up on the model.
    if (expireFetches(this, now) > 0) planFetches(this);
    this.checkWaitingJobs(now);
    // Queue work first; webhook deliveries only start here and run beside it (never awaited).
    for (const job of timedOut) if (job.state === "queued") await dispatchJob(this, job, job.agent_id ?? undefined);
    if (requeued.length || timedOut.length) await fillAll(this);
    this.webhooks.pump();
    await this.sweepExpired(now);
    await this.inputUploads.sweep(now);
    this.forgetSilentAgents();
    this.health.sweep(now, (id) => this.agents.get(id) !== undefined);
    const next = [this.store.nextDeadline(now), nextSilenceCheck(this), this.inputUploads.nextDeadline(), this.waitDueAt, fetchBook(this).nextDeadline()].filter((t): t is number => t !== null);
    if (next.length) this.armAlarm(Math.max(Math.min(...next), this.now() + 50));
  }

  /** Jobs no connected agent can run fail after MAX_WAIT_S (see waiting.ts); looked at once a minute at most, or when one is due. */
  private checkWaitingJobs(now: number): void {
    if (now < this.waitCheckAt && (this.waitDueAt === null || now < this.waitDueAt)) return;
    const { failed, nextAt } = failHopelessJobs(this, now);
    this.waitCheckAt = now + waitCheckMs(this.config.MAX_WAIT_S);
    this.waitDueAt = nextAt;
    for (const job of failed) this.notify(job);
    if (failed.length) this.store.bump("jobs_no_capable_agent", failed.length);
    // The same cadence catches what no event did (a catalog change, an agent whose store freed up).
    planFetches(this);
    fetchBook(this).prune(now);
  }

  /** Agents whose socket is gone and who hold nothing are forgotten. */
  private forgetSilentAgents(): void {
    for (const a of this.agents.list()) {
      if (!this.isConnected(a.agent_id) && this.ctx.getWebSockets(`agent:${a.agent_id}`).length === 0 && this.store.heldCount(a.agent_id) === 0) this.agents.remove(a.agent_id);
    }
  }

  /** Retention: finished jobs past their TTL go, with every object under their prefix. */
  private async sweepExpired(now: number): Promise<void> {
    for (const job of this.store.expired(now, 100)) {
      await this.deletePrefix(`out/${job.id}/`, () => true);
      // Inputs belong to the uploads registry: it deletes one when no unexpired job holds it and its TTL passed.
      if (job.inputs.length) await uploadRegistry(this.env).releaseUploads(job.inputs.map((i) => i.upload_id));
      this.store.delete(job.id);
      this.store.bump("jobs_expired");
    }
  }

  /** On a terminal state, objects from abandoned attempts (or a cancelled one) are deleted; outputs stay. */
  private async sweepObjects(job: Job): Promise<void> {
    // One attempt that succeeded leaves only its own outputs (uploads from a stale lease are
    // deleted as they land, see uploadFinished): nothing to list.
    if (job.state === "succeeded" && job.attempts <= 1) return;
    const keep = new Set((job.state === "succeeded" ? job.outputs ?? [] : []).map((o) => o.key));
    await this.deletePrefix(`out/${job.id}/`, (key) => !keep.has(key));
  }

  private async deletePrefix(prefix: string, shouldDelete: (key: string) => boolean): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.env.FILES.list({ prefix, cursor, limit: 1000 });
      const keys = page.objects.map((o) => o.key).filter(shouldDelete);
      if (keys.length) await this.env.FILES.delete(keys);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  /** Why a queued job waits, and where it stands. */
  private queueInfo(job: Job): { position: number; waiting_for: string | null } {
    const position = this.store.positionOf(job);
    const live = this.agents.list().filter((a) => a.accepting && this.isConnected(a.agent_id));
    if (live.length === 0) return { position, waiting_for: `an agent to connect to pool "${job.pool}"` };
    const set = this.store.modelSet(job.models_sig);
    const req = set ? this.agents.requirementsOf(set) : { models: job.models, nodes: [] };
    const rigs = live.map((a) => ({ inventory: a.inventory, classes: this.agents.classesOf(a) }));
    const gap = closestGap(rigs, req)!;
    const fetching = gap.models.length ? fetchWaitingFor(this, job) : null;
    if (fetching) return { position, waiting_for: fetching };
    if (gap.models.length || gap.nodes.length) return { position, waiting_for: `an agent with ${describeGap(gap)}` };
    const able = live.filter((_, i) => rigCanRun(rigs[i]!, req));
    return { position, waiting_for: able.some((a) => freeSlots(this, a) > 0) ? null : `a free slot on ${able.length} agent(s) able to run it` };
  }
}

import { AgentMessageSchema, CLOSE, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage, type JobError } from "../../shared/protocol.ts";
import { boundError } from "./agent-errors.ts";
import type { QueueCore } from "./core.ts";
import { dispatchJob, fillAgent } from "./dispatcher.ts";
import { heartbeatMs, lastSeenMaxStaleMs, silenceBoundMs } from "./liveness.ts";
import { onFetchProgress, onFetchResult, planFetches } from "./model-fetch.ts";
import { withOwnDigest } from "./node-catalogs.ts";
import { chargesRig, rememberLostAttempt, rigFailed } from "./rig-outcomes.ts";
import type { LeaseFacts } from "./store.ts";
import type { Job } from "./types.ts";
import { verifyOutputs } from "./verify-outputs.ts";

/** The titles of a job's graph nodes (`_meta.title`), read once per completion for its outputs. */
function nodeTitles(q: QueueCore, seq: number): (nodeId: string) => string | null {
  let graph: Record<string, { _meta?: { title?: unknown } }> | null = null;
  return (nodeId) => {
    try {
      graph ??= JSON.parse(q.store.graphJson(seq)) as Record<string, { _meta?: { title?: unknown } }>;
    } catch {
      return null;
    }
    const title = graph[nodeId]?._meta?.title;
    return typeof title === "string" ? title.slice(0, 256) : null;
  };
}

/** Hand-backs of a started run (ComfyUI became unreachable) that cost the job no attempt. */
export const FREE_RUNNING_HANDBACKS = 2;

/** What an agent socket carries through hibernation. */
export interface AgentAttachment {
  kind: "agent";
  agent_id: string;
  pool: string;
  hello: boolean;
  /** The name of the agent key that opened the socket (absent on sockets from before keys were bound). */
  key?: string;
}

function summarize(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(frame)"}: ${i.message}`)
    .join("; ");
}

/**
 * The largest agent frame, in UTF-8 bytes. The runtime hands webSocketMessage a whole message,
 * already buffered (there is no hook that sees a frame's length first); what bounds that buffer
 * is the runtime's own message cap (workerd's network sockets: 1 MiB unless a compat flag raises
 * it; Cloudflare's is larger). Anything over this limit is refused here, before it is parsed.
 */
export const MAX_FRAME_BYTES = 1 << 20;

/** Whether a text frame is over MAX_FRAME_BYTES in UTF-8; encodes only when its length cannot decide. */
function overFrameLimit(s: string): boolean {
  if (s.length > MAX_FRAME_BYTES) return true;
  if (s.length * 3 <= MAX_FRAME_BYTES) return false;
  return new TextEncoder().encode(s).byteLength > MAX_FRAME_BYTES;
}

/** Parses and acts on one frame from an agent. Invalid frames get an `error` and change nothing. */
export async function onAgentFrame(q: QueueCore, ws: WebSocket, att: AgentAttachment, raw: string | ArrayBuffer): Promise<void> {
  const reply = (msg: EdgeMessage) => q.send(ws, msg);
  if (typeof raw !== "string" || overFrameLimit(raw)) {
    reply({ type: "error", code: "invalid_frame", message: `Frames must be JSON text of at most ${MAX_FRAME_BYTES} bytes (1 MiB).` });
    return;
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    reply({ type: "error", code: "invalid_frame", message: "The frame is not valid JSON." });
    return;
  }
  const parsed = AgentMessageSchema.safeParse(data);
  if (!parsed.success) {
    const type = typeof data === "object" && data !== null ? (data as { type?: unknown }).type : undefined;
    const known = AgentMessageSchema.options.some((o) => o.shape.type.value === type);
    reply({
      type: "error",
      code: known ? "invalid_frame" : "unknown_type",
      message: known ? `Invalid "${String(type)}" frame: ${summarize(parsed.error.issues)}` : `Unknown message type ${JSON.stringify(type ?? null)}.`,
    });
    return;
  }
  const msg = parsed.data;
  if (msg.type === "hello") {
    // Identity, pool and protocol are fixed for a connection; a new hello needs a new socket.
    if (att.hello) {
      reply({ type: "error", code: "invalid_frame", message: "hello was already received on this connection; reconnect to change it." });
      return;
    }
    return onHello(q, ws, att, msg);
  }
  if (!att.hello) {
    reply({ type: "error", code: "hello_required", message: "Send `hello` first." });
    return;
  }
  // Any valid frame is proof of life (liveness.ts), and clears an expired lease's doubt.
  q.agents.touch(att.agent_id, q.now(), lastSeenMaxStaleMs(q.config));
  q.health.heard(att.agent_id, q.now());
  await handle(q, ws, att, msg);
}

async function onHello(q: QueueCore, ws: WebSocket, att: AgentAttachment, msg: Extract<AgentMessage, { type: "hello" }>): Promise<void> {
  if (msg.protocol !== PROTOCOL_VERSION) {
    ws.close(CLOSE.protocolMismatch, `protocol ${msg.protocol} is not supported; this edge speaks ${PROTOCOL_VERSION}: upgrade the agent`);
    return;
  }
  if (msg.agent_id !== att.agent_id || msg.pool !== att.pool) {
    q.send(ws, { type: "error", code: "invalid_frame", message: "hello.agent_id and hello.pool must match the connect URL." });
    return;
  }
  // Hashed before anything is looked at or changed: nothing else runs in between from here on.
  const hello = msg.nodes ? { ...msg, nodes: await withOwnDigest(msg.nodes) } : msg;
  // An agent id belongs to the key that registered it while the queue knows it (connected or
  // holding leases): another key may neither close its connection nor report on its leases.
  const bound = q.agents.get(att.agent_id)?.key ?? null;
  if (bound !== null && att.key !== undefined && bound !== att.key) {
    q.send(ws, { type: "error", code: "agent_id_taken", message: `Agent id ${att.agent_id} is in use by another agent key; pick another id (--name) or use that key.` });
    ws.close(CLOSE.identityTaken, `agent id ${att.agent_id} belongs to another agent key`);
    return;
  }
  for (const other of q.agentSockets(att.agent_id)) {
    if (other !== ws) other.close(CLOSE.replaced, "replaced by a newer connection of the same agent");
  }
  const now = q.now();
  q.agents.register(hello, now, att.key ?? bound);
  q.health.heard(att.agent_id, now);
  q.armAlarm(now + silenceBoundMs(q.config) + 1);
  ws.serializeAttachment({ ...att, hello: true } satisfies AgentAttachment);
  q.markConnected(att.agent_id);
  q.send(ws, {
    type: "welcome",
    protocol: PROTOCOL_VERSION,
    agent_id: att.agent_id,
    lease_ttl_ms: q.config.LEASE_TTL_MS,
    heartbeat_ms: heartbeatMs(q.config),
  });
  await fillAgent(q, att.agent_id);
  // What no connected agent can run may be fetched here (or, with it back, elsewhere no more).
  planFetches(q);
}

/** A lease this agent names but no longer holds: tell it to stop, unless the job was simply cancelled. */
function refuse(q: QueueCore, ws: WebSocket, jobId: string, leaseId: string, what: string): void {
  q.store.bump("stale_messages");
  q.send(ws, { type: "error", code: "stale_lease", message: `${what} refused: lease ${leaseId} of ${jobId} is not current.`, job_id: jobId, lease_id: leaseId });
  q.send(ws, { type: "cancel", job_id: jobId, lease_id: leaseId });
}

/**
 * A report for a lease that is already settled: the job was cancelled while the agent ran it,
 * or this is a resend of a report whose ack was lost. Acknowledged, never applied again.
 */
function alreadySettled(q: QueueCore, jobId: string, leaseId: string): boolean {
  const job = q.store.leaseOf(jobId);
  return job !== null && job.lease_id === leaseId && job.state !== "leased" && job.state !== "running";
}

/**
 * A slot came free. A job this agent just failed retryably goes to another agent if one can
 * take it, not straight back here (the rig's ComfyUI may be down for a while); this agent gets
 * it again only at a later report or heartbeat, when no one else took it.
 */
async function afterFreedSlot(q: QueueCore, att: AgentAttachment, requeued: Job | null): Promise<void> {
  const retry = requeued?.state === "queued" ? requeued : null;
  if (retry) await dispatchJob(q, retry, att.agent_id);
  await fillAgent(q, att.agent_id, retry?.id ?? null);
}

/** A lease's progress never goes backwards, whatever order its reports arrive in. */
function steadyPercent(before: LeaseFacts | null, leaseId: string, percent: number): number {
  const last = before?.lease_id === leaseId ? before.percent : null;
  return Math.max(percent, last ?? 0);
}

function currentLease(q: QueueCore, jobId: string, leaseId: string): boolean {
  const job = q.store.leaseOf(jobId);
  return job !== null && job.lease_id === leaseId && (job.state === "leased" || job.state === "running");
}

/** Records a report's outcome in the rig's health (rig-outcomes.ts); returns whether the job gets the attempt back. */
function rigOutcome(q: QueueCore, agentId: string, jobId: string, error: JobError, retryable: boolean, now: number): boolean {
  if (chargesRig(error.code, retryable)) return rigFailed(q, agentId, jobId, error, "retryable_failure", now);
  q.health.neutral(agentId, now);
  return false;
}

/** ComfyUI refused models this agent announced: stop routing them here until its next hello. */
function forgetMissingModels(q: QueueCore, agentId: string, details: unknown): void {
  const missing = (details as { missing_models?: unknown } | null)?.missing_models;
  if (!Array.isArray(missing)) return;
  const names = missing.filter((m): m is string => typeof m === "string").map((m) => m.slice(m.lastIndexOf("/") + 1));
  if (names.length) q.agents.forgetModels(agentId, names);
}

/**
 * A `complete` whose outputs the edge cannot vouch for (none named, or keys this lease never
 * uploaded) is a failed attempt with that cause, retried like any retryable failure. The agent
 * gets its ack (the report was received) and an error saying why it did not count.
 */
async function failUnverified(q: QueueCore, ws: WebSocket, att: AgentAttachment, msg: { job_id: string; lease_id: string }, error: JobError): Promise<void> {
  const now = q.now();
  // A rig that claims success without its outputs is failing, like one that reports the failure.
  const refund = rigOutcome(q, att.agent_id, msg.job_id, error, true, now);
  const job = q.store.fail(msg.job_id, msg.lease_id, error, true, now, q.config.RETENTION_DAYS * 86_400_000, refund);
  rememberLostAttempt(q, att.agent_id, job, refund, now);
  q.send(ws, { type: "error", code: error.code, message: error.message, job_id: msg.job_id, lease_id: msg.lease_id });
  q.send(ws, { type: "ack", of: "complete", job_id: msg.job_id, lease_id: msg.lease_id });
  if (!job) return;
  q.store.bump("unverified_completions");
  if (job.state === "queued") q.store.bump("retries");
  q.notify(job);
  return afterFreedSlot(q, att, job);
}

async function handle(q: QueueCore, ws: WebSocket, att: AgentAttachment, msg: Exclude<AgentMessage, { type: "hello" }>): Promise<void> {
  const now = q.now();
  const expires = now + q.config.LEASE_TTL_MS;
  switch (msg.type) {
    case "heartbeat": {
      for (const l of msg.leases) {
        if (!q.store.renew(l.job_id, l.lease_id, expires)) refuse(q, ws, l.job_id, l.lease_id, "heartbeat");
      }
      if (msg.leases.length) q.armAlarm(expires);
      // A periodic catch-up: an agent with room gets queued work even if no event offered it.
      await fillAgent(q, att.agent_id);
      return;
    }
    case "progress": {
      const before = q.store.leaseOf(msg.job_id);
      const job = q.store.progress(msg.job_id, msg.lease_id, {
        phase: msg.phase, value: msg.value, max: msg.max, node: msg.node ?? null, step_name: msg.step_name ?? null,
        ...(msg.percent === undefined ? {} : { percent: steadyPercent(before, msg.lease_id, msg.percent) }),
        ...(msg.unit === undefined ? {} : { unit: msg.unit }),
      }, expires, now, q.config.RUN_TIMEOUT_GRACE_MS);
      if (!job) return refuse(q, ws, msg.job_id, msg.lease_id, "progress");
      if (job.run_deadline !== null && before?.run_deadline !== job.run_deadline) q.armAlarm(job.run_deadline);
      if (before?.state !== job.state) q.notify(job);
      else q.notifyProgress(job);
      // Uploading frees the job's ComfyUI slot (shared/protocol.ts freeSlots): the next job can start.
      if (msg.phase === "uploading" && before?.phase !== "uploading") await fillAgent(q, att.agent_id);
      return;
    }
    case "complete": {
      const prefix = `out/${msg.job_id}/${msg.lease_id}/`;
      const foreign = msg.outputs.find((o) => !o.key.startsWith(prefix));
      if (foreign) {
        q.send(ws, { type: "error", code: "invalid_frame", message: `Output key ${foreign.key} is outside this lease's grant ${prefix}.`, job_id: msg.job_id, lease_id: msg.lease_id });
        return;
      }
      const held = q.store.leaseOf(msg.job_id);
      const current = held !== null && held.lease_id === msg.lease_id && (held.state === "leased" || held.state === "running");
      const verified = current
        ? verifyOutputs(msg.outputs, q.store.uploadsOf(msg.job_id, msg.lease_id), nodeTitles(q, held.seq))
        : { ok: true as const, outputs: msg.outputs };
      if (!verified.ok) return failUnverified(q, ws, att, msg, verified.error);
      const job = q.store.complete(msg.job_id, msg.lease_id, verified.outputs, now, q.config.RETENTION_DAYS * 86_400_000, msg.run_ms, msg.dropped_outputs ?? 0);
      if (!job) {
        if (alreadySettled(q, msg.job_id, msg.lease_id)) q.send(ws, { type: "ack", of: "complete", job_id: msg.job_id, lease_id: msg.lease_id });
        else refuse(q, ws, msg.job_id, msg.lease_id, "complete");
        return;
      }
      q.send(ws, { type: "ack", of: "complete", job_id: msg.job_id, lease_id: msg.lease_id });
      q.health.success(att.agent_id, msg.job_id, now);
      q.notify(job);
      return afterFreedSlot(q, att, null);
    }
    case "fail": {
      if (msg.error.code === "model_missing") forgetMissingModels(q, att.agent_id, msg.error.details);
      const error = boundError(msg.error);
      // The raw report (rig paths and all) is for operators; clients see it redacted (views.ts).
      console.log(JSON.stringify({ msg: "agent reported a failure", task_id: msg.job_id, lease_id: msg.lease_id, agent_id: att.agent_id, retryable: msg.retryable, error }));
      const refund = currentLease(q, msg.job_id, msg.lease_id) ? rigOutcome(q, att.agent_id, msg.job_id, error, msg.retryable, now) : false;
      const job = q.store.fail(msg.job_id, msg.lease_id, error, msg.retryable, now, q.config.RETENTION_DAYS * 86_400_000, refund);
      if (chargesRig(error.code, msg.retryable)) rememberLostAttempt(q, att.agent_id, job, refund, now);
      if (!job) {
        if (alreadySettled(q, msg.job_id, msg.lease_id)) q.send(ws, { type: "ack", of: "fail", job_id: msg.job_id, lease_id: msg.lease_id });
        else refuse(q, ws, msg.job_id, msg.lease_id, "fail");
        return;
      }
      if (job.state === "queued") q.store.bump("retries");
      q.send(ws, { type: "ack", of: "fail", job_id: msg.job_id, lease_id: msg.lease_id });
      q.notify(job);
      return afterFreedSlot(q, att, job);
    }
    case "release": {
      const held = q.store.leaseOf(msg.job_id);
      if (held && held.state === "running" && held.lease_id === msg.lease_id && held.handbacks >= FREE_RUNNING_HANDBACKS) {
        // A job whose runs keep losing their ComfyUI may be what brings ComfyUI down: from now on
        // a hand-back costs an attempt, so a poison job ends instead of visiting every rig forever.
        const error = {
          code: "comfyui_unavailable",
          message: `ComfyUI became unreachable while this job ran, ${held.handbacks + 1} times in a row; the job itself may be what brings ComfyUI down.`,
        };
        const failed = q.store.fail(msg.job_id, msg.lease_id, error, true, now, q.config.RETENTION_DAYS * 86_400_000, false);
        if (failed) {
          if (failed.state === "queued") q.store.bump("retries");
          q.send(ws, { type: "ack", of: "release", job_id: msg.job_id, lease_id: msg.lease_id });
          q.notify(failed);
          return afterFreedSlot(q, att, failed);
        }
      }
      const job = q.store.release(msg.job_id, msg.lease_id, now);
      if (!job) {
        if (alreadySettled(q, msg.job_id, msg.lease_id)) q.send(ws, { type: "ack", of: "release", job_id: msg.job_id, lease_id: msg.lease_id });
        else refuse(q, ws, msg.job_id, msg.lease_id, "release");
        return;
      }
      q.send(ws, { type: "ack", of: "release", job_id: msg.job_id, lease_id: msg.lease_id });
      q.notify(job);
      // Not back to the agent that just handed it back (it may be busier than the edge knows):
      // other agents may take it now; this one is refilled at its next report or heartbeat.
      await dispatchJob(q, job, att.agent_id);
      return;
    }
    case "pause": {
      q.agents.setAccepting(att.agent_id, false, msg.reason ?? "paused by the agent");
      return;
    }
    case "resume": {
      q.agents.setAccepting(att.agent_id, true);
      await fillAgent(q, att.agent_id);
      return;
    }
    case "preview": {
      // Relayed only for the lease that runs the job, and only if its client asked; never stored.
      const job = q.store.get(msg.job_id);
      if (!job || job.lease_id !== msg.lease_id || job.state !== "running" || !job.previews) return;
      q.notifyPreview(job, { content_type: msg.content_type, data: msg.data, node_id: msg.node_id ?? null });
      return;
    }
    case "inventory": {
      // New files may make queued jobs runnable here (and gone ones stop being routed here).
      q.agents.setInventory(att.agent_id, msg.inventory);
      // Its node catalog comes only when it changed (new custom nodes after a ComfyUI restart).
      if (msg.nodes) q.agents.setNodes(att.agent_id, await withOwnDigest(msg.nodes));
      if (msg.model_store !== undefined) q.agents.setModelStore(att.agent_id, msg.model_store ?? null);
      await fillAgent(q, att.agent_id);
      planFetches(q);
      return;
    }
    case "fetch_progress": {
      onFetchProgress(q, att.agent_id, msg);
      return;
    }
    case "fetch_result": {
      return onFetchResult(q, att.agent_id, msg);
    }
  }
}

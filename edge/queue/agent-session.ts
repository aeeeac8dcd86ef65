import { AgentMessageSchema, CLOSE, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage } from "../../shared/protocol.ts";
import type { QueueCore } from "./core.ts";
import { dispatchJob, fillAgent } from "./dispatcher.ts";
import type { Job } from "./types.ts";

/** What an agent socket carries through hibernation. */
export interface AgentAttachment {
  kind: "agent";
  agent_id: string;
  pool: string;
  hello: boolean;
}

function summarize(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(frame)"}: ${i.message}`)
    .join("; ");
}

/** Parses and acts on one frame from an agent. Invalid frames get an `error` and change nothing. */
export async function onAgentFrame(q: QueueCore, ws: WebSocket, att: AgentAttachment, raw: string | ArrayBuffer): Promise<void> {
  const reply = (msg: EdgeMessage) => q.send(ws, msg);
  if (typeof raw !== "string" || raw.length > 1_000_000) {
    reply({ type: "error", code: "invalid_frame", message: "Frames must be JSON text under 1 MB." });
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
  q.agents.touch(att.agent_id, q.now());
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
  for (const other of q.agentSockets(att.agent_id)) {
    if (other !== ws) other.close(CLOSE.replaced, "replaced by a newer connection of the same agent");
  }
  q.agents.register(msg, q.now());
  ws.serializeAttachment({ ...att, hello: true } satisfies AgentAttachment);
  q.markConnected(att.agent_id);
  q.send(ws, {
    type: "welcome",
    protocol: PROTOCOL_VERSION,
    agent_id: att.agent_id,
    lease_ttl_ms: q.config.LEASE_TTL_MS,
    heartbeat_ms: Math.max(250, Math.floor(q.config.LEASE_TTL_MS / 3)),
  });
  await fillAgent(q, att.agent_id);
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
  const job = q.store.get(jobId);
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

/** ComfyUI refused models this agent announced: stop routing them here until its next hello. */
function forgetMissingModels(q: QueueCore, agentId: string, details: unknown): void {
  const missing = (details as { missing_models?: unknown } | null)?.missing_models;
  if (!Array.isArray(missing)) return;
  const names = missing.filter((m): m is string => typeof m === "string").map((m) => m.slice(m.lastIndexOf("/") + 1));
  if (names.length) q.agents.forgetModels(agentId, names);
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
      const before = q.store.get(msg.job_id);
      const job = q.store.progress(msg.job_id, msg.lease_id, {
        phase: msg.phase, value: msg.value, max: msg.max, node: msg.node ?? null, step_name: msg.step_name ?? null,
      }, expires, now);
      if (!job) return refuse(q, ws, msg.job_id, msg.lease_id, "progress");
      if (before?.state !== job.state) q.notify(job);
      else q.notifyProgress(job);
      // Uploading frees the job's ComfyUI slot (shared/protocol.ts freeSlots): the next job can start.
      if (msg.phase === "uploading" && before?.progress?.phase !== "uploading") await fillAgent(q, att.agent_id);
      return;
    }
    case "complete": {
      const prefix = `out/${msg.job_id}/${msg.lease_id}/`;
      const foreign = msg.outputs.find((o) => !o.key.startsWith(prefix));
      if (foreign) {
        q.send(ws, { type: "error", code: "invalid_frame", message: `Output key ${foreign.key} is outside this lease's grant ${prefix}.`, job_id: msg.job_id, lease_id: msg.lease_id });
        return;
      }
      const job = q.store.complete(msg.job_id, msg.lease_id, msg.outputs, now, q.config.RETENTION_DAYS * 86_400_000, msg.run_ms);
      if (!job) {
        if (alreadySettled(q, msg.job_id, msg.lease_id)) q.send(ws, { type: "ack", of: "complete", job_id: msg.job_id, lease_id: msg.lease_id });
        else refuse(q, ws, msg.job_id, msg.lease_id, "complete");
        return;
      }
      q.send(ws, { type: "ack", of: "complete", job_id: msg.job_id, lease_id: msg.lease_id });
      q.notify(job);
      return afterFreedSlot(q, att, null);
    }
    case "fail": {
      if (msg.error.code === "model_missing") forgetMissingModels(q, att.agent_id, msg.error.details);
      const job = q.store.fail(msg.job_id, msg.lease_id, msg.error, msg.retryable, now, q.config.RETENTION_DAYS * 86_400_000);
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
      q.agents.setAccepting(att.agent_id, false);
      return;
    }
  }
}

import { freeSlots as slotsLeft, type JobMessage } from "../../shared/protocol.ts";
import { randomId } from "../ids.ts";
import { sign } from "../auth/signing.ts";
import type { AgentRecord } from "./agents.ts";
import type { QueueCore } from "./core.ts";
import { withFetchWait } from "./fetch-views.ts";
import type { Job } from "./types.ts";

/** The model whose load dominates a switch (checkpoint/unet); an agent that ran it last has it warm. */
export function primaryModel(job: Job): string | null {
  const main = job.models.find((m) => ["checkpoints", "unet", "diffusion_models"].includes(m.folder)) ?? job.models[0];
  return main ? main.name : null;
}

/** Free slots, within what the rig's health allows (none while quarantined or unproven, one probe after the back-off). */
export function freeSlots(q: QueueCore, agent: AgentRecord): number {
  const held = q.store.held(agent.agent_id);
  return Math.min(slotsLeft(agent, held), q.health.allowance(agent.agent_id, q.now(), held.total));
}

function available(q: QueueCore): AgentRecord[] {
  return q.agents.list().filter((a) => a.accepting && q.isConnected(a.agent_id));
}

/** Leases `job` to `agent` and pushes it down the agent's socket; a failed send hands it straight back. */
async function leaseTo(q: QueueCore, job: Job, agent: AgentRecord): Promise<boolean> {
  const now = q.now();
  const leaseId = `lse_${randomId(16)}`;
  const expires = now + q.config.LEASE_TTL_MS;
  const row = q.store.lease(job.id, agent.agent_id, leaseId, expires);
  if (!row) return false;
  const leased = withFetchWait(q, row, agent.agent_id);
  q.agents.setLastModel(agent.agent_id, primaryModel(leased));
  q.health.leased(agent.agent_id, job.id, now);
  q.store.observeDispatch(now - leased.enqueued_at);
  q.armAlarm(expires);
  const text = await jobMessage(q, leased, leaseId, expires);
  const sent = q.agentSockets(agent.agent_id).some((ws) => q.sendText(ws, text));
  if (!sent) {
    q.store.release(job.id, leaseId, q.now());
    return false;
  }
  q.notify(leased);
  return true;
}

/** The `job` frame as text; the stored graph JSON is spliced in as is rather than parsed and re-serialised. */
async function jobMessage(q: QueueCore, job: Job, leaseId: string, deadline: number): Promise<string> {
  const prefix = `out/${job.id}/${leaseId}`;
  // The grant outlives the lease by the job's time budget: uploads happen at the end of a run.
  const exp = Math.floor(q.now() / 1000) + job.timeout_s + 600;
  const msg: Omit<JobMessage, "graph"> = {
    type: "job",
    job_id: job.id,
    lease_id: leaseId,
    attempt: job.attempts,
    deadline,
    output_format: { type: job.output_format, quality: job.quality },
    upload: {
      base_url: `${q.config.PUBLIC_URL}/agent/uploads/${prefix}`,
      exp,
      sig: await sign(q.config.SIGNING_KEY, "upload", prefix, exp),
      max_files: job.max_outputs,
      max_bytes: q.config.MAX_UPLOAD_BYTES,
    },
    inputs: await q.inputUrls(job),
    models: job.models.map((m) => `${m.folder}/${m.name}`),
    timeout_s: job.timeout_s,
    ...(job.previews ? { previews: true } : {}),
  };
  return `${JSON.stringify(msg).slice(0, -1)},"graph":${q.store.graphJson(job.seq)}}`;
}

/** A new (or re-queued) job goes at once to the best idle agent that can run it, if any. */
export async function dispatchJob(q: QueueCore, job: Job, exclude?: string): Promise<boolean> {
  const warm = primaryModel(job);
  const candidates = available(q)
    .filter((a) => a.agent_id !== exclude)
    .map((a) => {
      const held = q.store.held(a.agent_id);
      return { a, free: freeSlots(q, a), held: held.total - held.uploading };
    })
    .filter(({ a, free }) => free > 0 && q.agents.runnableSigs(a, (after) => q.store.modelSets(after)).includes(job.models_sig))
    // Idle agents first (a prefetch slot on a busy one is the last resort), then the one with the model warm.
    .sort((x, y) => x.held - y.held || Number(y.a.last_model === warm) - Number(x.a.last_model === warm));
  for (const { a } of candidates) {
    if (await leaseTo(q, job, a)) return true;
  }
  return false;
}

/** Fills an agent's free slots from the queue, best job first. */
export async function fillAgent(q: QueueCore, agentId: string, skipJob: string | null = null): Promise<number> {
  const agent = q.agents.get(agentId);
  if (!agent || !agent.accepting || !q.isConnected(agentId)) return 0;
  let sent = 0;
  while (freeSlots(q, agent) > 0) {
    const job = q.store.nextFor(q.agents.runnableSigs(agent, (after) => q.store.modelSets(after)), skipJob);
    if (!job || !(await leaseTo(q, job, agent))) break;
    sent++;
  }
  return sent;
}

export async function fillAll(q: QueueCore): Promise<void> {
  for (const a of available(q)) await fillAgent(q, a.agent_id);
}

import type { Logger } from "pino";
import type { ComfyClient, QueueEntry } from "./client.ts";

/** The `extra_data` key under which the agent tags the prompts it submits. */
export const TAG_KEY = "comfy_edge";

/**
 * `extra_data` for a prompt: who submitted it. ComfyUI keeps `extra_data` with the queue item
 * (`GET /queue` shows it), and nothing else there says whose a prompt is.
 */
export function promptTag(agentId: string, job: { job_id: string; lease_id: string }): Record<string, unknown> {
  return { [TAG_KEY]: { agent_id: agentId, job_id: job.job_id, lease_id: job.lease_id } };
}

/** Whether a queued prompt was submitted by an agent with this id (this process or one before it). */
export function ownedBy(entry: QueueEntry, agentId: string): boolean {
  const tag = entry.extra_data[TAG_KEY];
  return typeof tag === "object" && tag !== null && (tag as { agent_id?: unknown }).agent_id === agentId;
}

export type Reclaimed = { deleted: string[]; interrupted: string[]; others: number };

/**
 * Takes this agent's own prompts out of ComfyUI (pending ones deleted, a running one
 * interrupted by id), except those in `keep` (prompts of leases it still holds). Prompts
 * anyone else queued (a person in the web page, another agent) are left alone.
 * @throws ComfyError when ComfyUI cannot be read or asked.
 */
export async function reclaimOwnPrompts(comfy: ComfyClient, agentId: string, keep: ReadonlySet<string> = new Set()): Promise<Reclaimed> {
  const { running, pending } = await comfy.queueEntries();
  const mine = (e: QueueEntry) => ownedBy(e, agentId) && !keep.has(e.prompt_id);
  const deleted = pending.filter(mine).map((e) => e.prompt_id);
  const interrupted = running.filter(mine).map((e) => e.prompt_id);
  if (deleted.length) await comfy.deleteQueued(deleted);
  for (const id of interrupted) await comfy.interrupt(id);
  const others = [...running, ...pending].filter((e) => !ownedBy(e, agentId)).length;
  return { deleted, interrupted, others };
}

/** `reclaimOwnPrompts`, logged; a ComfyUI that cannot be read is not an error here (nothing is reclaimed). */
export async function reclaimLogged(comfy: ComfyClient, agentId: string, log: Logger, keep?: ReadonlySet<string>): Promise<void> {
  try {
    const { deleted, interrupted, others } = await reclaimOwnPrompts(comfy, agentId, keep);
    if (deleted.length || interrupted.length) log.warn({ deleted, interrupted }, "cleared prompts this agent left in ComfyUI before (their leases went back to the edge)");
    if (others) log.info({ prompts: others }, "ComfyUI holds prompts queued by others; leaving them alone");
  } catch (e) {
    log.debug({ err: String(e) }, "could not read ComfyUI's queue; nothing reclaimed");
  }
}

import type { ModelStore } from "../../shared/protocol.ts";
import type { QueueCore } from "./core.ts";
import { modelKey } from "../../shared/models.ts";
import { fetchBookOf, type FetchRecord } from "./fetch-book.ts";
import type { Job } from "./types.ts";

const book = (q: QueueCore) => fetchBookOf(q.state.storage.sql);

function howFar(f: FetchRecord): string {
  if (f.total) return `${Math.min(99, Math.floor((100 * f.bytes) / f.total))}%`;
  return `${Math.round(f.bytes / 1_000_000)} MB so far`;
}

/** `queue.waiting_for` of a job whose models are being fetched: `model x.gguf being fetched by rig-3 (41%)`; null when none is. */
export function fetchWaitingFor(q: QueueCore, job: Job): string | null {
  const keys = job.models.map(modelKey);
  const fetching = book(q).active().filter((f) => keys.includes(f.model));
  if (fetching.length === 0) return null;
  return fetching.map((f) => `model ${job.models[keys.indexOf(f.model)]!.name} being fetched by ${f.agent_id} (${howFar(f)})`).join("; ");
}

/** Whether a requirements set's models are being fetched now (its jobs wait on that, not on MAX_WAIT_S). */
export function fetchingFor(q: QueueCore, models: readonly { folder: string; name: string }[]): boolean {
  const keys = new Set(models.map(modelKey));
  return book(q).active().some((f) => keys.has(f.model));
}

/**
 * At lease: how long the job waited on fetches of its models by the agent that now runs it (the
 * longest such fetch, from when the job was queued or the fetch began, to its end); stored on the
 * job as fetch_ms. Unchanged when it waited on none.
 */
export function withFetchWait(q: QueueCore, job: Job, agentId: string): Job {
  const done = book(q).doneSince(agentId, job.models.map(modelKey), job.enqueued_at);
  if (done.length === 0) return job;
  const ms = Math.max(...done.map((f) => f.finished_at! - Math.max(f.started_at, job.enqueued_at)));
  q.store.setFetchMs(job.id, ms);
  return { ...job, fetch_ms: ms };
}

/** What `GET /agents` shows of an agent's models on demand: its store (free disk, budget, what it fetched) and its fetches in progress. */
export function agentFetchView(q: QueueCore, agentId: string, store: ModelStore | null) {
  return {
    model_store: store,
    fetches: book(q)
      .active()
      .filter((f) => f.agent_id === agentId)
      .map((f) => ({ fetch_id: f.fetch_id, model: f.model, bytes: f.bytes, total: f.total, started_at: new Date(f.started_at).toISOString() })),
  };
}

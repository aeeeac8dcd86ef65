import { modelKey, type ModelRef } from "../../shared/models.ts";
import type { FetchMessage, FetchResult, JobError, ModelInventory } from "../../shared/protocol.ts";
import { randomId } from "../ids.ts";
import { fetchCatalog } from "../model-catalog.ts";
import type { QueueCore } from "./core.ts";
import { redactPaths } from "./agent-errors.ts";
import { fillAgent } from "./dispatcher.ts";
import { fetchBookOf, type FetchBook, type FetchRecord } from "./fetch-book.ts";
import { planSet, type PlanAgent, type PlannedFetch } from "./fetch-plan.ts";

/** A requirements set as the store lists it (`models`, `nodes`: JSON text). */
type SetRow = { sig: string; models: string; nodes: string };

/** This queue's model fetches (fetch-book.ts). */
export function fetchBook(q: QueueCore): FetchBook {
  return fetchBookOf(q.state.storage.sql);
}

/**
 * Models on demand: for each queued requirements set no connected agent can run now, asks the
 * agent fetch-plan.ts picks to fetch what it lacks from the catalog, or fails the set's jobs with
 * `model_unavailable` once a model could not be fetched (twice, or once with no other agent to
 * try). Runs when a job no one can run is queued (for its set alone: `onlySig`), on hello,
 * inventory and fetch_result, when an agent leaves, and from the alarm.
 */
export function planFetches(q: QueueCore, onlySig?: string): void {
  const connected = q.agents.list().filter((a) => q.isConnected(a.agent_id));
  const runnable = new Set(connected.filter((a) => a.accepting).flatMap((a) => q.agents.runnableSigs(a, (after) => q.store.modelSets(after))));
  // A new job's look covers its own set only (no pass over the queue on the submit path), and no read at all when some agent can run it.
  if (onlySig !== undefined && runnable.has(onlySig)) return;
  const rows: (SetRow | null)[] = onlySig === undefined ? q.store.queuedSince() : [q.store.modelSet(onlySig)];
  const sets = rows.filter((set): set is SetRow => set !== null && !runnable.has(set.sig));
  if (sets.length === 0) return;
  const book = fetchBook(q);
  const catalog = fetchCatalog(q.config);
  const now = q.now();
  const agents: PlanAgent[] = connected.map((a) => ({
    agent_id: a.agent_id,
    rig: { inventory: a.inventory, classes: q.agents.classesOf(a) },
    store: a.model_store,
    usable: a.accepting && !q.health.isQuarantined(a.agent_id),
    held: q.store.heldCount(a.agent_id),
  }));
  let active = book.active();
  const givenUp = new Map<string, JobError>();
  for (const set of sets) {
    const req = q.agents.requirementsOf(set);
    const lost = req.models.map(modelKey).find((k) => givenUp.has(k));
    if (lost !== undefined) {
      failSet(q, set.sig, givenUp.get(lost)!, now);
      continue;
    }
    const plan = planSet(req, agents, catalog, active, (key) => book.openFailures(key));
    if (plan.kind === "fetch") {
      for (const f of plan.fetches) startFetch(q, book, plan.agent_id, f, now);
      active = book.active();
    } else if (plan.kind === "give_up") {
      const error = unavailable(plan.ref, plan.failures);
      givenUp.set(plan.key, error);
      failSet(q, set.sig, error, now);
    }
  }
  for (const key of givenUp.keys()) book.closeFailures(key);
}

function startFetch(q: QueueCore, book: FetchBook, agentId: string, f: PlannedFetch, now: number): boolean {
  const fetchId = `fch_${randomId(16)}`;
  const deadline = now + q.config.MODEL_FETCH_TIMEOUT_S * 1000;
  const msg: FetchMessage = {
    type: "fetch",
    fetch_id: fetchId,
    model: { folder: f.entry.folder, name: f.entry.name },
    url: f.entry.url,
    sha256: f.entry.sha256,
    bytes: f.entry.bytes,
  };
  if (!q.agentSockets(agentId).some((ws) => q.send(ws, msg))) return false;
  book.start(fetchId, f.key, agentId, f.entry.bytes, now, deadline);
  q.armAlarm(deadline);
  q.store.bump("model_fetches_started");
  console.log(JSON.stringify({ msg: "model fetch started", fetch_id: fetchId, agent_id: agentId, model: f.key, url: f.entry.url }));
  return true;
}

function unavailable(ref: ModelRef, failures: FetchRecord[]): JobError {
  const reasons = failures.map((f) => `${f.agent_id}: ${f.error ?? "failed"}`).join("; ");
  return {
    code: "model_unavailable",
    message: `Model ${ref.name} could not be fetched (${failures.length} ${failures.length === 1 ? "try" : "tries"}): ${reasons}`,
    details: { model: `${ref.folder}/${ref.name}`, fetches: failures.map((f) => ({ agent_id: f.agent_id, error: f.error })) },
  };
}

/** Fails every queued job of a requirements set (in bounded batches) and tells their watchers. */
function failSet(q: QueueCore, sig: string, error: JobError, now: number): void {
  const retention = q.config.RETENTION_DAYS * 86_400_000;
  for (let batch = q.store.failWaiting(sig, now, error, now, retention); batch.length; batch = q.store.failWaiting(sig, now, error, now, retention)) {
    q.store.bump("jobs_model_unavailable", batch.length);
    for (const job of batch) q.notify(job);
  }
}

/** A `fetch_progress` frame: how far one of this agent's fetches has come. */
export function onFetchProgress(q: QueueCore, agentId: string, msg: { fetch_id: string; bytes: number; total: number | null }): void {
  // MODEL_FETCH_TIMEOUT_S counts from the last progress: a large model on a slow link is not failed while bytes arrive.
  fetchBook(q).progress(msg.fetch_id, agentId, msg.bytes, msg.total, q.now() + q.config.MODEL_FETCH_TIMEOUT_S * 1000);
}

/**
 * A `fetch_result` frame. The inventory and model store it carries are the rig's truth whatever
 * became of the fetch (even one that timed out here); then the agent is filled, so jobs waiting on
 * the model run at once, and the planner looks again (a failure tries another agent or gives up).
 */
export async function onFetchResult(q: QueueCore, agentId: string, msg: FetchResult): Promise<void> {
  if (msg.inventory) q.agents.setInventory(agentId, msg.inventory);
  if (msg.model_store !== undefined) q.agents.setModelStore(agentId, msg.model_store ?? null);
  const book = fetchBook(q);
  const row = book.get(msg.fetch_id);
  let ok = msg.ok;
  // Rig paths in an agent's message are not for clients (the reason reaches model_unavailable).
  let error = msg.error ? `${msg.error.code}: ${redactPaths(msg.error.message)}` : ok ? null : "failed (no reason given)";
  // Judged only on an inventory the agent sent with the result (it may not have read ComfyUI's in time).
  if (ok && row && msg.inventory && !holds(msg.inventory, row.model)) {
    // Counted as a failure, or the planner would ask it for the same file again and again.
    ok = false;
    error = "reported done, but its inventory does not list the file";
  }
  const finished = book.finish(msg.fetch_id, agentId, ok, error, q.now(), msg.bytes);
  // The model can be had: earlier failures of it no longer count towards giving up on later jobs.
  if (finished && ok) book.closeFailures(finished.model);
  if (finished) {
    q.store.bump(ok ? "model_fetches_done" : "model_fetches_failed");
    console.log(JSON.stringify({ msg: ok ? "model fetch done" : "model fetch failed", fetch_id: msg.fetch_id, agent_id: agentId, model: finished.model, error, ms: msg.ms ?? null }));
  }
  await fillAgent(q, agentId);
  planFetches(q);
}

function holds(inventory: ModelInventory, key: string): boolean {
  return Object.entries(inventory).some(([folder, files]) => files.some((name) => modelKey({ folder, name }) === key));
}

/** The agent's socket went away: its fetches in progress are lost, and the planner looks for another agent. */
export function onAgentGoneFetches(q: QueueCore, agentId: string): void {
  if (fetchBook(q).loseAgent(agentId, q.now()) > 0) planFetches(q);
}

/** Fetches past MODEL_FETCH_TIMEOUT_S without an answer fail (they count like any failure); returns how many. */
export function expireFetches(q: QueueCore, now: number): number {
  const book = fetchBook(q);
  let n = 0;
  for (const f of book.overdue(now)) {
    if (!book.finish(f.fetch_id, f.agent_id, false, `no fetch_result within ${q.config.MODEL_FETCH_TIMEOUT_S} s (MODEL_FETCH_TIMEOUT_S)`, now)) continue;
    q.store.bump("model_fetches_failed");
    n++;
  }
  return n;
}

import type { CatalogModel, ModelCatalog } from "../../shared/model-catalog/catalog.ts";
import { modelKey, type ModelRef } from "../../shared/models.ts";
import type { ModelStore } from "../../shared/protocol.ts";
import { missingFor, type Requirements, type RigOffer } from "../../shared/requirements.ts";
import type { FetchRecord } from "./fetch-book.ts";

/** A connected agent as the planner weighs it. */
export interface PlanAgent {
  agent_id: string;
  rig: RigOffer;
  /** Null: it does not fetch. */
  store: ModelStore | null;
  /** Accepting, connected, not quarantined. */
  usable: boolean;
  /** Leases it holds (least busy is asked first). */
  held: number;
}

export interface PlannedFetch {
  ref: ModelRef;
  key: string;
  entry: CatalogModel;
}

/** What to do for one requirements set no connected agent can run now. */
export type SetPlan =
  /** Every model it lacks on some agent is being fetched there: wait for that. */
  | { kind: "waiting"; agent_id: string }
  /** Ask this agent to fetch these models. */
  | { kind: "fetch"; agent_id: string; fetches: PlannedFetch[] }
  /** Give up on a model: it failed twice, or failed and no other agent can fetch it. */
  | { kind: "give_up"; key: string; ref: ModelRef; failures: FetchRecord[] }
  /** Nothing to do (a model it lacks is not in the catalog, or no agent can run the rest). */
  | { kind: "none" };

/** Fetch failures of one model before its waiting jobs fail: the first agent's, then another's. */
export const FETCH_TRIES = 2;

/**
 * Decides, for one requirements set that no connected agent can run, which agent fetches what it
 * lacks: one that can run everything else (no node class missing), has a model store, is usable,
 * has room for the files whose size the catalog knows (within its budget), and has not already
 * failed one of them; the least busy first, then the one lacking fewest. A model already being
 * fetched is never fetched a second time elsewhere: an agent that would need it is passed over.
 */
export function planSet(
  req: Requirements,
  agents: readonly PlanAgent[],
  catalog: ModelCatalog,
  active: readonly FetchRecord[],
  openFailures: (key: string) => FetchRecord[],
): SetPlan {
  for (const ref of req.models) {
    const key = modelKey(ref);
    const failures = openFailures(key);
    if (failures.length >= FETCH_TRIES && !active.some((f) => f.model === key)) return { kind: "give_up", key, ref, failures };
  }
  let best: { agent: PlanAgent; load: number; fetches: PlannedFetch[] } | null = null;
  for (const agent of agents) {
    if (!agent.usable || agent.store === null) continue;
    const missing = missingFor(agent.rig, req);
    if (missing.nodes.length) continue;
    const wanted = missing.models.map((ref) => ({ ref, key: modelKey(ref), entry: catalog.find(ref) }));
    if (wanted.some((w) => w.entry === null)) continue;
    if (wanted.some((w) => openFailures(w.key).some((f) => f.agent_id === agent.agent_id))) continue;
    const mine = active.filter((f) => f.agent_id === agent.agent_id);
    const pending = wanted.filter((w) => !mine.some((f) => f.model === w.key)) as PlannedFetch[];
    if (pending.length === 0) return { kind: "waiting", agent_id: agent.agent_id };
    if (pending.some((w) => active.some((f) => f.model === w.key))) continue;
    if (!hasRoom(agent.store, pending, mine)) continue;
    const load = agent.held + mine.length;
    if (best === null || load < best.load || (load === best.load && pending.length < best.fetches.length)) best = { agent, load, fetches: pending };
  }
  if (best) return { kind: "fetch", agent_id: best.agent.agent_id, fetches: best.fetches };
  // A model that failed once and that no other agent can fetch now: no second try to wait for.
  for (const ref of req.models) {
    const key = modelKey(ref);
    const failures = openFailures(key);
    if (failures.length > 0 && !active.some((f) => f.model === key)) return { kind: "give_up", key, ref, failures };
  }
  return { kind: "none" };
}

/**
 * Free disk for the files of known size (beside what its running fetches still write), each within
 * its budget. An agent holding files it fetched may evict them to make room, so its free disk is no
 * bar: it refuses (`disk_full`, a failure like any other) if even that is not enough.
 */
function hasRoom(store: ModelStore, pending: readonly PlannedFetch[], running: readonly FetchRecord[]): boolean {
  const need = pending.reduce((sum, w) => sum + (w.entry.bytes ?? 0), 0);
  const busy = running.reduce((sum, f) => sum + Math.max(0, (f.total ?? 0) - f.bytes), 0);
  if (store.fetched.length === 0 && need + busy > store.free_bytes) return false;
  return store.budget_bytes === null || pending.every((w) => (w.entry.bytes ?? 0) <= store.budget_bytes!);
}

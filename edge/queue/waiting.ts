import { describeModel } from "../../shared/models.ts";
import type { Requirements } from "../../shared/requirements.ts";
import type { QueueCore } from "./core.ts";
import { fetchingFor } from "./fetch-views.ts";
import { closestGap, describeGap, type Gap } from "./gaps.ts";
import type { Job } from "./types.ts";

/**
 * How often, at most, the queue looks for jobs no agent can run (a pass over the queued rows):
 * a quarter of MAX_WAIT_S, between 1 s and a minute.
 */
export function waitCheckMs(maxWaitS: number): number {
  return Math.min(60_000, Math.max(1_000, (maxWaitS * 1000) / 4));
}

/**
 * Queued jobs no connected agent can run (it lacks a model file or a node class) fail once that
 * has been so for `maxWaitMs` (counted from when the job was queued, or from when the last capable
 * agent left, whichever is later) with code `no_capable_agent`, naming what the closest agent
 * lacks. Returns the failed jobs and when the next one falls due (null: none waits in vain).
 */
export function failHopelessJobs(q: QueueCore, now: number, maxWaitMs = q.config.MAX_WAIT_S * 1000): { failed: Job[]; nextAt: number | null } {
  const connected = q.agents.list().filter((a) => q.isConnected(a.agent_id));
  const runnable = new Set(connected.flatMap((a) => q.agents.runnableSigs(a, (after) => q.store.modelSets(after))));
  const failed: Job[] = [];
  let nextAt: number | null = null;
  const due = (at: number) => (nextAt = nextAt === null ? at : Math.min(nextAt, at));
  for (const set of q.store.queuedSince()) {
    // A set whose models are being fetched waits on that fetch, not on MAX_WAIT_S (a failed fetch restarts its clock).
    if (runnable.has(set.sig) || fetchingFor(q, q.agents.requirementsOf(set).models)) {
      if (set.hopeless_since !== null) q.store.setHopelessSince(set.sig, null);
      continue;
    }
    const hopelessSince = set.hopeless_since ?? now;
    if (set.hopeless_since === null) q.store.setHopelessSince(set.sig, now);
    const dueAt = Math.max(set.since, hopelessSince) + maxWaitMs;
    if (dueAt > now) {
      due(dueAt);
      continue;
    }
    const req = q.agents.requirementsOf(set);
    const gap = closestGap(connected.map((a) => ({ inventory: a.inventory, classes: q.agents.classesOf(a) })), req) ?? { models: [...req.models], nodes: [] };
    const error = {
      code: "no_capable_agent",
      message: waitedFor(req, gap, connected.length, maxWaitMs),
      details: {
        missing_models: gap.models.map((m) => `${m.folder}/${m.name}`),
        ...(gap.nodes.length ? { missing_nodes: gap.nodes } : {}),
        waited_s: Math.round(maxWaitMs / 1000),
      },
    };
    const batch = q.store.failWaiting(set.sig, now - maxWaitMs, error, now, q.config.RETENTION_DAYS * 86_400_000);
    failed.push(...batch);
    // Later jobs of the same models (or the rest of a long batch) are looked at again soon.
    due(now + 1_000);
  }
  return { failed, nextAt };
}

function waitedFor(req: Requirements, gap: Gap, agents: number, maxWaitMs: number): string {
  const waited = `${Math.round(maxWaitMs / 1000)} s`;
  if (agents === 0) return `No agent was connected to this pool for ${waited} (MAX_WAIT_S); the job needs ${req.models.length ? req.models.map(describeModel).join(", ") : "any agent"}.`;
  return `No connected agent has ${describeGap(gap) || req.models.map(describeModel).join(", ")}: waited ${waited} (MAX_WAIT_S) for one that does.`;
}

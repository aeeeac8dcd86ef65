import type { WorkflowListing } from "../../shared/api.ts";
import { compileJob } from "../../shared/manifest/compile.ts";
import type { Catalog, Workflow } from "../../shared/manifest/schema.ts";
import { workflowSummary } from "../../shared/manifest/views.ts";
import type { Requirements } from "../../shared/requirements.ts";
import type { Env } from "../env.ts";
import { queueFor } from "../queue/stub.ts";

/**
 * What a workflow always needs of a rig: the model files and node classes of its graph compiled
 * at its default parameters (a parameter without a default keeps the graph's own value). Other
 * choices (another LoRA, another model) may need more; this is what every job of it loads.
 */
export function defaultRequirements(catalog: Catalog, workflow: Workflow): Requirements {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(workflow.params)) if (spec.default !== undefined) values[name] = spec.default;
  // The seed's value does not change what the graph loads: a fixed source keeps this pure.
  const compiled = compileJob(catalog, workflow, values, () => 0);
  return { models: compiled.models, nodes: compiled.nodes };
}

/** The workflows grouped by pool, with their requirements, computed once per Worker (the catalog is fixed). */
function byPool(catalog: Catalog): Map<string, { workflow: Workflow; req: Requirements }[]> {
  const pools = new Map<string, { workflow: Workflow; req: Requirements }[]>();
  for (const workflow of Object.values(catalog.workflows)) {
    const list = pools.get(workflow.pool) ?? [];
    list.push({ workflow, req: defaultRequirements(catalog, workflow) });
    pools.set(workflow.pool, list);
  }
  return pools;
}

const cache = new WeakMap<Catalog, Map<string, { workflow: Workflow; req: Requirements }[]>>();

/** `GET /workflows`: every workflow with how many connected agents can run it now; one queue call per pool. */
export async function workflowListings(env: Env, catalog: Catalog): Promise<WorkflowListing[]> {
  let pools = cache.get(catalog);
  if (!pools) cache.set(catalog, (pools = byPool(catalog)));
  const counts = new Map<string, number>();
  await Promise.all(
    [...pools].map(async ([pool, entries]) => {
      const ready = await queueFor(env, pool).agentsReady(entries.map((e) => e.req));
      entries.forEach((e, i) => counts.set(e.workflow.id, ready[i] ?? 0));
    }),
  );
  return Object.values(catalog.workflows).map((w) => ({ ...workflowSummary(w), agents_ready: counts.get(w.id) ?? 0 }));
}

import { missingModels, type ModelRef } from "./models.ts";
import type { ModelInventory } from "./protocol.ts";

/** What a job needs of a rig: the model files its graph loads and the node classes it uses. */
export type Requirements = { models: readonly ModelRef[]; nodes: readonly string[] };

/** What a rig offers: its model files, and its node classes (null: not reported, taken as any class). */
export type RigOffer = { inventory: ModelInventory; classes: ReadonlySet<string> | null };

/** What the rig lacks of the requirements, in their order; both empty: it can run the job now. */
export function missingFor(rig: RigOffer, req: Requirements): { models: ModelRef[]; nodes: string[] } {
  const classes = rig.classes;
  return {
    models: missingModels(rig.inventory, [...req.models]),
    nodes: classes ? req.nodes.filter((n) => !classes.has(n)) : [],
  };
}

/** Whether the rig can run the job now (has every model file and every node class). */
export function rigCanRun(rig: RigOffer, req: Requirements): boolean {
  const m = missingFor(rig, req);
  return m.models.length === 0 && m.nodes.length === 0;
}

import { describeModel, type ModelRef } from "../../shared/models.ts";
import { missingFor, type Requirements, type RigOffer } from "../../shared/requirements.ts";

/** What a rig lacks of a job's requirements (shared/requirements.ts missingFor). */
export type Gap = { models: ModelRef[]; nodes: string[] };

/**
 * What the closest of these rigs lacks: the fewest missing node classes first (a model can be
 * fetched, a node class cannot), then the fewest missing models. Null when there are no rigs.
 */
export function closestGap(rigs: RigOffer[], req: Requirements): Gap | null {
  let best: Gap | null = null;
  for (const rig of rigs) {
    const gap = missingFor(rig, req);
    if (best === null || gap.nodes.length < best.nodes.length || (gap.nodes.length === best.nodes.length && gap.models.length < best.models.length)) best = gap;
    if (best.nodes.length === 0 && best.models.length === 0) break;
  }
  return best;
}

/** A gap as people read it: "node class UnetLoaderGGUF and flux1-dev-Q4_K_S.gguf". */
export function describeGap(gap: Gap): string {
  const parts: string[] = [];
  if (gap.nodes.length) parts.push(`node class${gap.nodes.length > 1 ? "es" : ""} ${gap.nodes.join(", ")}`);
  if (gap.models.length) parts.push(gap.models.map(describeModel).join(", "));
  return parts.join(" and ");
}

/** The node classes no rig has (rigs that reported no catalog are taken as having any class). */
export function unknownClasses(rigs: RigOffer[], nodes: readonly string[]): string[] {
  if (rigs.length === 0 || rigs.some((r) => r.classes === null)) return [];
  return nodes.filter((n) => !rigs.some((r) => r.classes!.has(n)));
}

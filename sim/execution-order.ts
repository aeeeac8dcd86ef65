import type { Graph } from "./validate.ts";

function isLink(v: unknown): v is [string, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === "string";
}

/**
 * The order ComfyUI's `ExecutionList` runs nodes in: starting from each output, pull in every
 * upstream node that is not cached; then repeatedly pick a ready node, preferring output nodes,
 * then nodes that unblock an output, then nodes two steps from one (`ux_friendly_pick_node`).
 * Output nodes are always listed, cached or not; cached upstream nodes never are.
 */
export function executionOrder(
  prompt: Graph,
  outputs: readonly string[],
  isCached: (id: string) => boolean,
  isOutput: (id: string) => boolean,
): string[] {
  const pending = new Map<string, true>();
  const blockCount = new Map<string, number>();
  const blocking = new Map<string, Set<string>>();

  const addNode = (start: string): void => {
    const stack = [start];
    const links: [string, string][] = [];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (pending.has(id)) continue;
      pending.set(id, true);
      blockCount.set(id, blockCount.get(id) ?? 0);
      blocking.set(id, blocking.get(id) ?? new Set());
      const inputs = prompt[id]?.inputs ?? {};
      for (const value of Object.values(inputs)) {
        if (!isLink(value)) continue;
        if (!isCached(value[0])) stack.push(value[0]);
        links.push([value[0], id]);
      }
    }
    for (const [from, to] of links) {
      if (isCached(from)) continue;
      if (!pending.has(from)) addNode(from);
      const blocked = blocking.get(from) as Set<string>;
      if (!blocked.has(to)) {
        blocked.add(to);
        blockCount.set(to, (blockCount.get(to) ?? 0) + 1);
      }
    }
  };
  for (const o of outputs) addNode(o);

  const pick = (ready: string[]): string => {
    const out = ready.find(isOutput);
    if (out) return out;
    const near = ready.find((id) => [...(blocking.get(id) ?? [])].some(isOutput));
    if (near) return near;
    const twoAway = ready.find((id) =>
      [...(blocking.get(id) ?? [])].some((b) => [...(blocking.get(b) ?? [])].some(isOutput)),
    );
    return twoAway ?? (ready[0] as string);
  };

  const order: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending.keys()].filter((id) => blockCount.get(id) === 0);
    // A cycle leaves nothing ready; ComfyUI reports it as an error, the sim just stops there.
    if (ready.length === 0) break;
    const id = pick(ready);
    order.push(id);
    pending.delete(id);
    for (const b of blocking.get(id) ?? []) blockCount.set(b, (blockCount.get(b) ?? 1) - 1);
  }
  return order;
}

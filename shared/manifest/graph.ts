import { LOADER_INPUTS, type ModelRef } from "../models.ts";
import type { Graph, GraphNode, Target } from "./schema.ts";

/** A link in API format: `[source node id, output index]`. */
export type Link = [string, number];

export function isLink(value: unknown): value is Link {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === "string" &&
    typeof value[1] === "number" &&
    Number.isInteger(value[1]) &&
    value[1] >= 0
  );
}

/** The graph's own node with this id (never something inherited, like `constructor`). */
export function nodeOf(graph: Graph, id: string): GraphNode | undefined {
  return Object.hasOwn(graph, id) ? graph[id] : undefined;
}

/** Ids of the nodes whose `_meta.title` equals `title`. */
export function nodesTitled(graph: Graph, title: string): string[] {
  return Object.entries(graph)
    .filter(([, node]) => node._meta?.title === title)
    .map(([id]) => id);
}

/** The first link that names a node the graph lacks, if any. */
export function findBrokenLink(graph: Graph): { node: string; input: string; source: string } | null {
  for (const [id, node] of Object.entries(graph)) {
    for (const [input, value] of Object.entries(node.inputs)) {
      if (isLink(value) && !Object.hasOwn(graph, value[0])) return { node: id, input, source: value[0] };
    }
  }
  return null;
}

/** Every input that consumes an output of `source`. */
export function consumersOf(graph: Graph, source: string): { node: string; input: string; output: number }[] {
  const found: { node: string; input: string; output: number }[] = [];
  for (const [id, node] of Object.entries(graph)) {
    for (const [input, value] of Object.entries(node.inputs)) {
      if (isLink(value) && value[0] === source) found.push({ node: id, input, output: value[1] });
    }
  }
  return found;
}

const MAX_HOPS = 16;

/**
 * Follows an input through links into nodes that hold their value in `inputs.value`
 * (ComfyUI-ParamNodes' ParamUniversal, core PrimitiveString, ...). Returns the literal
 * (undefined when a link leads elsewhere) and every input passed on the way.
 */
export function resolveInput(graph: Graph, at: Target): { value: unknown; path: Target[] } {
  const path: Target[] = [at];
  const start = nodeOf(graph, at.node);
  let value = start && Object.hasOwn(start.inputs, at.input) ? start.inputs[at.input] : undefined;
  for (let hop = 0; isLink(value); hop++) {
    const source = nodeOf(graph, value[0]);
    if (hop === MAX_HOPS || !source || !Object.hasOwn(source.inputs, "value")) return { value: undefined, path };
    path.push({ node: value[0], input: "value" });
    value = source.inputs["value"];
  }
  return { value, path };
}

/**
 * The model files a graph names, in graph order without repeats; "None" and empty names
 * are not files. `skip` drops a file whose value passes through a given input.
 */
export function graphModels(graph: Graph, skip: (at: Target) => boolean = () => false): ModelRef[] {
  const seen = new Set<string>();
  const refs: ModelRef[] = [];
  for (const [id, node] of Object.entries(graph)) {
    const inputs = LOADER_INPUTS[node.class_type];
    if (!inputs) continue;
    for (const [input, folder] of Object.entries(inputs)) {
      if (!Object.hasOwn(node.inputs, input)) continue;
      const { value, path } = resolveInput(graph, { node: id, input });
      if (typeof value !== "string" || value === "" || value === "None" || path.some(skip)) continue;
      const key = `${folder}\u0000${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      refs.push({ folder, name: value });
    }
  }
  return refs;
}

/** The node classes a graph uses, sorted, without repeats: what a rig's ComfyUI must offer to run it. */
export function graphNodeClasses(graph: Graph): string[] {
  return [...new Set(Object.values(graph).map((node) => node.class_type))].sort();
}

/**
 * Removes a node and reconnects each consumer of its output k to whatever feeds the
 * node's input `reroute[k]` (a bypassed LoraLoader: consumers of MODEL get the
 * checkpoint's MODEL). The manifest check guarantees every consumed output is covered.
 */
export function bypassNode(graph: Graph, nodeId: string, reroute: Record<string, string>): void {
  const node = nodeOf(graph, nodeId);
  if (!node) return;
  delete graph[nodeId];
  for (const consumer of consumersOf(graph, nodeId)) {
    const inputName = reroute[String(consumer.output)];
    const replacement = inputName === undefined ? undefined : node.inputs[inputName];
    if (!isLink(replacement)) {
      throw new Error(`cannot bypass node ${nodeId}: output ${consumer.output} has no rerouted input`);
    }
    const target = graph[consumer.node];
    if (target) target.inputs[consumer.input] = [replacement[0], replacement[1]];
  }
}

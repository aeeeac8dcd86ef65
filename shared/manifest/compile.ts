import type { ModelRef } from "../models.ts";
import { bypassNode, graphModels, graphNodeClasses } from "./graph.ts";
import type { Catalog, Graph, Lora, Workflow } from "./schema.ts";

/** Where an uploaded image goes: the agent puts ComfyUI's file name for it in that input. */
export interface ImageInput {
  param: string;
  node_id: string;
  input: string;
  upload_id: string;
}

export interface CompiledJob {
  /** The ComfyUI API-format graph to submit. */
  graph: Graph;
  /** The seed the job runs with (a "random" one resolved), or null when the workflow has none. */
  seed: number | null;
  /** The prompt as sent to ComfyUI, LoRA prefix/suffix included, or null. */
  prompt: string | null;
  /** Every model file the compiled graph names. */
  models: ModelRef[];
  /** The node classes the compiled graph uses (sorted): routing sends it only to rigs that have them all. */
  nodes: string[];
  images: ImageInput[];
}

const TWO_32 = 2 ** 32;

/** A uniform integer in [min, max], exact up to Number.MAX_SAFE_INTEGER, from a [0, 1) source. */
export function randomInt(min: number, max: number, random: () => number = Math.random): number {
  const span = max - min + 1;
  const draw = (n: number): number => Math.min(Math.floor(random() * n), n - 1);
  if (span <= TWO_32) return min + draw(span);
  // Math.random-style sources give ~52 bits at best: build 53 from two draws.
  const wide = draw(2 ** 21) * TWO_32 + draw(TWO_32);
  return min + (wide % span);
}

/** The original's rule: "Ghibli Art, a cat" for a prefix, "a cat, scenery style" for a suffix. */
export function promptWithLora(prompt: string, lora: Lora): string {
  return [lora.prefix, prompt, lora.suffix].filter((part) => part !== undefined && part.trim() !== "").join(", ");
}

/**
 * Builds the graph for a job from values that passed `validateParams`: a deep copy of the
 * workflow's graph with each parameter written to its targets, special handlers resolved
 * (seed "random" becomes an integer in its range), the LoRA's prefix/suffix joined to the
 * prompt, and optional nodes bypassed where their condition holds.
 */
export function compileJob(
  catalog: Catalog,
  workflow: Workflow,
  values: Record<string, unknown>,
  random: () => number = Math.random,
): CompiledJob {
  const graph = structuredClone(workflow.graph);
  const final: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(workflow.params)) {
    if (!Object.hasOwn(values, name)) continue;
    const value = values[name];
    const handler = spec.special_handlers?.find((h) => h.value === value);
    final[name] = handler ? randomInt(handler.args.min, handler.args.max, random) : value;
  }

  const loraName = final["lora"];
  const lora = typeof loraName === "string" && Object.hasOwn(catalog.loras, loraName) ? catalog.loras[loraName] : undefined;
  if (lora && typeof final["prompt"] === "string") final["prompt"] = promptWithLora(final["prompt"], lora);

  for (const [name, spec] of Object.entries(workflow.params)) {
    if (!Object.hasOwn(final, name)) continue;
    for (const target of spec.targets) {
      const node = graph[target.node];
      if (node) node.inputs[target.input] = final[name];
    }
  }

  for (const [nodeId, optional] of Object.entries(workflow.optional_nodes)) {
    if (final[optional.bypass_when.param] === optional.bypass_when.equals) bypassNode(graph, nodeId, optional.reroute);
  }

  const images: ImageInput[] = [];
  for (const [name, spec] of Object.entries(workflow.params)) {
    const upload = final[name];
    if (spec.type !== "image" || typeof upload !== "string") continue;
    for (const target of spec.targets) {
      if (graph[target.node]) images.push({ param: name, node_id: target.node, input: target.input, upload_id: upload });
    }
  }

  const seed = final["seed"];
  const prompt = final["prompt"];
  return {
    graph,
    seed: typeof seed === "number" ? seed : null,
    prompt: typeof prompt === "string" ? prompt : null,
    models: graphModels(graph),
    nodes: graphNodeClasses(graph),
    images,
  };
}

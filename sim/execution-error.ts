import type { NodeClassDef } from "./node-classes.ts";
import { NodeFailure, tracebackFor } from "./node-errors.ts";
import { hash32 } from "./png.ts";
import { PyError, pyRepr } from "./py.ts";
import type { QueueItem } from "./queue.ts";
import type { Graph } from "./validate.ts";

/** Where a run stopped: the node, what it raised, and the inputs it had. */
export interface NodeFailureAt {
  readonly id: string;
  readonly error: unknown;
  readonly inputs: Record<string, unknown>;
}

const OBJECT_REPR: Record<string, string> = {
  MODEL: "comfy.model_patcher.ModelPatcher", CLIP: "comfy.sd.CLIP", VAE: "comfy.sd.VAE",
  NOISE: "comfy_extras.nodes_custom_sampler.Noise_RandomNoise", GUIDER: "comfy.samplers.CFGGuider",
  SAMPLER: "comfy.samplers.KSAMPLER",
};

/** `format_value` of an input as `execution_error.current_inputs` shows it. */
function formatInput(type: unknown, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== "object") return v;
  const cls = typeof type === "string" ? OBJECT_REPR[type] : undefined;
  if (cls) return `<${cls} object at 0x7f${(hash32(JSON.stringify(v)) >>> 4).toString(16).padStart(7, "0")}0>`;
  if (type === "LATENT") return "{'samples': tensor([[[[...]]]], device='cuda:0')}";
  if (type === "IMAGE") return "tensor([[[[...]]]])";
  if (type === "CONDITIONING") return "[[tensor([[[...]]], device='cuda:0'), {'pooled_output': tensor([[...]], device='cuda:0')}]]";
  return pyRepr(v);
}

/** The `execution_error` data ComfyUI's `handle_execution_error` sends (before its timestamp). */
export function executionError(
  item: QueueItem, failure: NodeFailureAt, executed: readonly string[], classes: Readonly<Record<string, NodeClassDef>>,
): Record<string, unknown> {
  const node = item.prompt[failure.id] as Graph[string];
  const def = classes[node.class_type];
  const e = failure.error;
  const err = e instanceof PyError ? e : new PyError("Exception", e instanceof Error ? e.message : String(e), tracebackFor(node.class_type));
  const tips = err instanceof NodeFailure ? err.tips : "";
  const typeOf = (name: string): unknown => (def?.required[name] ?? def?.optional?.[name])?.[0];
  const current_inputs: Record<string, unknown[]> = {};
  for (const [name, v] of Object.entries(failure.inputs)) current_inputs[name] = [formatInput(typeOf(name), v)];
  if (def?.hidden?.prompt) current_inputs.prompt = [pyRepr(item.prompt)];
  if (def?.hidden?.extra_pnginfo) current_inputs.extra_pnginfo = [item.extraData.extra_pnginfo === undefined ? null : pyRepr(item.extraData.extra_pnginfo)];
  return {
    prompt_id: item.promptId,
    node_id: failure.id,
    node_type: node.class_type,
    executed,
    exception_message: `${err.text}\n${tips}`,
    exception_type: err.type,
    traceback: err.traceback.length > 0 ? err.traceback : tracebackFor(node.class_type),
    current_inputs,
    current_outputs: Object.keys(item.prompt),
  };
}

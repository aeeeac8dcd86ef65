import { type ClassEnv, classInputs, resolveInputType } from "./class-info.ts";
import type { NodeClassDef } from "./node-classes.ts";
import { PyError, pyBool, pyFloat, pyFloatStr, pyIndex, pyInt, pyIntStr, pyLookup, pyRepr, pyStr } from "./py.ts";

/** ComfyUI's error object: in `error`, in `node_errors[id].errors`, everywhere the same four keys. */
export interface ErrorInfo {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}
export interface NodeError {
  errors: ErrorInfo[];
  dependent_outputs: string[];
  class_type: string;
}
export interface PromptNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: unknown;
}
export type Graph = Record<string, PromptNode>;

export type Validation =
  | { ok: true; outputs: string[]; nodeErrors: Record<string, NodeError> }
  | { ok: false; error: ErrorInfo; nodeErrors: Record<string, NodeError> };

/** A prompt so malformed that ComfyUI itself raises (the client sees a 500). */
export class MalformedPrompt extends Error {
  override readonly name = "MalformedPrompt";
}

export interface ValidateEnv extends ClassEnv {
  readonly classes: Readonly<Record<string, NodeClassDef>>;
  /** `folder_paths.exists_annotated_filepath`, what LoadImage's VALIDATE_INPUTS asks. */
  inputFileExists(name: string): boolean;
}

type Verdict = [valid: boolean, reasons: ErrorInfo[], id: string];

const TB_EXEC = '  File "/ComfyUI/execution.py", line 640, in validate_inputs\n';

function failure(type: string, message: string, details = ""): Validation {
  return { ok: false, error: { type, message, details, extra_info: {} }, nodeErrors: {} };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Types as `validate_node_input` compares them; "*" (ParamUniversal's AnyType) matches anything. */
function typesMatch(received: string, wanted: string | readonly string[]): boolean {
  if (received === "*" || wanted === "*") return true;
  if (typeof wanted !== "string") return received === "COMBO";
  if (received === wanted) return true;
  const got = new Set(received.split(",").map((t) => t.trim()));
  return wanted.split(",").some((t) => got.has(t.trim()));
}

function limitStr(type: unknown, v: unknown): string {
  if (typeof v !== "number") return pyStr(v);
  return type === "FLOAT" ? pyFloatStr(v) : pyIntStr(v);
}

function valueStr(type: unknown, v: unknown): string {
  if (typeof v === "number" && type === "FLOAT") return pyFloatStr(v);
  return pyStr(v);
}

/**
 * ComfyUI's `validate_prompt`: every class must exist, at least one output node, then each output
 * is validated recursively through its links (`validate_inputs`), mutating input values to their
 * declared types the way ComfyUI does. Node errors carry the outputs that depend on them.
 */
export function validatePrompt(prompt: unknown, env: ValidateEnv, partialTargets?: unknown): Validation {
  if ((Array.isArray(prompt) || typeof prompt === "string") && prompt.length === 0) {
    return failure("prompt_no_outputs", "Prompt has no outputs");
  }
  if (!isObject(prompt)) throw new MalformedPrompt("prompt is not a dict");
  const outputs: string[] = [];
  for (const [id, node] of Object.entries(prompt)) {
    if (typeof node === "number" || typeof node === "boolean" || node === null) throw new MalformedPrompt(`node ${id} is not a dict`);
    if (!isObject(node) || !("class_type" in node)) {
      return failure("invalid_prompt", "Cannot execute because a node is missing the class_type property.", `Node ID '#${id}'`);
    }
    const classType = node.class_type;
    const def = typeof classType === "string" && Object.hasOwn(env.classes, classType) ? env.classes[classType] : undefined;
    if (!def) {
      return failure("invalid_prompt", `Cannot execute because node ${pyStr(classType)} does not exist.`, `Node ID '#${id}'`);
    }
    const targeted = !Array.isArray(partialTargets) || partialTargets.includes(id);
    if (def.outputNode && targeted) outputs.push(id);
  }
  if (outputs.length === 0) return failure("prompt_no_outputs", "Prompt has no outputs");

  const graph = prompt as Graph;
  const validated = new Map<string, Verdict>();
  const validate = (id: string): Verdict => validateInputs(graph, id, validated, env);
  const good: string[] = [];
  const failed: [string, ErrorInfo[]][] = [];
  const nodeErrors: Record<string, NodeError> = {};
  for (const o of outputs) {
    let valid = false;
    let reasons: ErrorInfo[] = [];
    try {
      [valid, reasons] = validate(o);
    } catch (ex) {
      const err = asPyError(ex);
      reasons = [{
        type: "exception_during_validation",
        message: "Exception when validating node",
        details: err.text,
        extra_info: { exception_type: err.type, traceback: [TB_EXEC] },
      }];
      validated.set(o, [false, reasons, o]);
    }
    if (valid) {
      good.push(o);
      continue;
    }
    failed.push([o, reasons]);
    for (const [nodeId, [ok, why]] of validated) {
      if (ok || why.length === 0) continue;
      nodeErrors[nodeId] ??= { errors: why, dependent_outputs: [], class_type: String(graph[nodeId]?.class_type) };
      nodeErrors[nodeId].dependent_outputs.push(o);
    }
  }
  if (good.length === 0) {
    const details = failed.flatMap(([, errs]) => errs.map((e) => `${e.message}: ${e.details}`)).join("\n");
    return {
      ok: false,
      error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details, extra_info: {} },
      nodeErrors,
    };
  }
  return { ok: true, outputs: good, nodeErrors };
}

function asPyError(ex: unknown): PyError {
  if (ex instanceof PyError) return ex;
  return new PyError("Exception", ex instanceof Error ? ex.message : String(ex));
}

function validateInputs(prompt: Graph, id: string, validated: Map<string, Verdict>, env: ValidateEnv): Verdict {
  const seen = validated.get(id);
  if (seen) return seen;
  const node = prompt[id] as PromptNode;
  const inputs = pyLookup(node as unknown as Record<string, Record<string, unknown>>, "inputs");
  if (!isObject(inputs)) throw new PyError("TypeError", `argument of type '${typeof inputs}' is not iterable`);
  const def = env.classes[node.class_type] as NodeClassDef;
  const custom = new Set(def.validateInputs ?? []);
  const errors: ErrorInfo[] = [];
  let valid = true;

  for (const { name, def: inputDef, category } of classInputs(def)) {
    if (!(name in inputs)) {
      if (category === "required") {
        errors.push({ type: "required_input_missing", message: "Required input is missing", details: name, extra_info: { input_name: name } });
      }
      continue;
    }
    const inputType = resolveInputType(inputDef[0], env);
    const extra = inputDef[1] ?? {};
    const info = [inputType, extra];
    let val = inputs[name];
    if (Array.isArray(val)) {
      if (val.length !== 2) {
        errors.push({
          type: "bad_linked_input",
          message: "Bad linked input, must be a length-2 list of [node_id, slot_index]",
          details: name,
          extra_info: { input_name: name, input_config: info, received_value: val },
        });
        continue;
      }
      const source = pyLookup(prompt, val[0]);
      const sourceDef = env.classes[source.class_type] as NodeClassDef;
      const receivedType = pyIndex(sourceDef.outputs, val[1]);
      if (!typesMatch(receivedType, inputType)) {
        errors.push({
          type: "return_type_mismatch",
          message: "Return type mismatch between linked nodes",
          details: `${name}, received_type(${receivedType}) mismatch input_type(${typeof inputType === "string" ? inputType : pyRepr(inputType)})`,
          extra_info: { input_name: name, input_config: info, received_type: receivedType, linked_node: val },
        });
        continue;
      }
      const sourceId = val[0] as string;
      try {
        if (!validateInputs(prompt, sourceId, validated, env)[0]) valid = false;
      } catch (ex) {
        valid = false;
        const err = asPyError(ex);
        validated.set(sourceId, [false, [{
          type: "exception_during_inner_validation",
          message: "Exception when validating inner node",
          details: err.text,
          extra_info: {
            input_name: name, input_config: info, exception_message: err.text, exception_type: err.type,
            traceback: [TB_EXEC], linked_node: val,
          },
        }], sourceId]);
      }
      continue;
    }
    try {
      if (isObject(val) && "__value__" in val) val = inputs[name] = val.__value__;
      if (inputType === "INT") val = inputs[name] = pyInt(val);
      if (inputType === "FLOAT") val = inputs[name] = pyFloat(val);
      if (inputType === "STRING") val = inputs[name] = pyStr(val);
      if (inputType === "BOOLEAN") val = inputs[name] = pyBool(val);
    } catch (ex) {
      const err = asPyError(ex);
      errors.push({
        type: "invalid_input_type",
        message: `Failed to convert an input value to a ${pyStr(inputType)} value`,
        details: `${name}, ${pyStr(val)}, ${err.text}`,
        extra_info: { input_name: name, input_config: info, received_value: val, exception_message: err.text },
      });
      continue;
    }
    if (custom.has(name)) continue;
    const error = rangeOrChoiceError(name, val, inputType, extra, info);
    if (error) errors.push(error);
  }

  if (def.validateInputs && node.class_type === "LoadImage" && "image" in inputs) {
    const image = Array.isArray(inputs.image) ? null : inputs.image;
    if (typeof image !== "string" || !env.inputFileExists(image)) {
      errors.push({
        type: "custom_validation_failed",
        message: "Custom validation failed for node",
        details: `image - Invalid image file: ${pyStr(image)}`,
        extra_info: { input_name: "image" },
      });
    }
  }

  const verdict: Verdict = errors.length > 0 || !valid ? [false, errors, id] : [true, [], id];
  validated.set(id, verdict);
  return verdict;
}

function rangeOrChoiceError(
  name: string, val: unknown, inputType: string | readonly string[], extra: Readonly<Record<string, unknown>>, info: unknown[],
): ErrorInfo | null {
  const min = extra.min;
  const max = extra.max;
  if (typeof min === "number" && typeof val === "number" && val < min) {
    return {
      type: "value_smaller_than_min",
      message: `Value ${valueStr(inputType, val)} smaller than min of ${limitStr(inputType, min)}`,
      details: name,
      extra_info: { input_name: name, input_config: info, received_value: val },
    };
  }
  if (typeof max === "number" && typeof val === "number" && val > max) {
    return {
      type: "value_bigger_than_max",
      message: `Value ${valueStr(inputType, val)} bigger than max of ${limitStr(inputType, max)}`,
      details: name,
      extra_info: { input_name: name, input_config: info, received_value: val },
    };
  }
  if (typeof inputType !== "string" && !inputType.some((choice) => choice === val)) {
    // Don't send back gigantic lists, as ComfyUI: long model lists become their length.
    const long = inputType.length > 20;
    return {
      type: "value_not_in_list",
      message: "Value not in list",
      details: `${name}: '${pyStr(val)}' not in ${long ? `(list of length ${inputType.length})` : pyRepr(inputType)}`,
      extra_info: { input_name: name, input_config: long ? null : info, received_value: val },
    };
  }
  return null;
}

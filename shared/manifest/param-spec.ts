import { checkValue } from "./check-value.ts";
import type { BaseParam, Lora, Override, ParamSpec, Scalar } from "./schema.ts";

/** What is wrong with a parameter, and under which of its keys. */
export interface SpecProblem {
  key: PropertyKey[];
  reason: string;
}

type SpecResult = { ok: true; spec: ParamSpec } | ({ ok: false } & SpecProblem);

/** base.yaml's entry with a workflow's override laid over it; null in the override removes a key. */
export function applyOverride(base: BaseParam, override: Override | null | undefined): BaseParam {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override ?? {})) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged as BaseParam;
}

const ONLY_FOR: [keyof BaseParam, ParamSpec["type"][], string][] = [
  ["min", ["integer", "float"], "integer and float"],
  ["max", ["integer", "float"], "integer and float"],
  ["multiple_of", ["integer"], "integer"],
  ["max_length", ["string"], "string"],
  ["choices", ["integer", "float", "string"], "integer, float and string"],
  ["choices_from", ["string"], "string"],
  ["special_handlers", ["integer"], "integer"],
];

function loraChoices(choicesFrom: string, loras: Record<string, Lora>): string[] {
  const family = choicesFrom.split(":")[1];
  return Object.values(loras)
    .filter((lora) => family === undefined || lora.family === family)
    .map((lora) => lora.name);
}

function fail(key: PropertyKey[], reason: string): SpecResult {
  return { ok: false, key, reason };
}

/**
 * Turns a parameter as written into the spec requests are checked against, proving it
 * consistent: keys fit the type, min <= max, every choice and the default obey the
 * limits, special handlers can produce a value. Targets are resolved later, per graph.
 */
export function buildSpec(name: string, written: BaseParam, loras: Record<string, Lora>): SpecResult {
  const { type } = written;
  for (const [key, types, label] of ONLY_FOR) {
    if (written[key] !== undefined && !types.includes(type)) {
      return fail([key], `applies only to ${label} parameters, and this one is ${type}`);
    }
  }
  const integerKeys = ["min", "max"] as const;
  for (const key of integerKeys) {
    const value = written[key];
    if (type === "integer" && value !== undefined && !Number.isSafeInteger(value)) {
      return fail([key], `must be a whole number within ±(2^53-1) for an integer parameter, got ${value}`);
    }
  }
  if (written.min !== undefined && written.max !== undefined && written.min > written.max) {
    return fail(["min"], `min ${written.min} is above max ${written.max}`);
  }

  let choices: Scalar[] | undefined = written.choices;
  if (written.choices_from !== undefined) {
    choices = [...new Set([...(choices ?? []), ...loraChoices(written.choices_from, loras)])];
  }
  if (choices !== undefined && choices.length === 0) {
    const from = written.choices_from ? ` (loras.yaml has none for ${JSON.stringify(written.choices_from)})` : "";
    return fail([written.choices_from ? "choices_from" : "choices"], `leaves no choices${from}`);
  }
  const limits = { type, min: written.min, max: written.max, multiple_of: written.multiple_of, max_length: written.max_length };
  for (const [i, choice] of (choices ?? []).entries()) {
    const problem = checkValue(limits, choice);
    if (problem) return fail(["choices", i], `choice ${problem.message}`);
  }

  const safe = Number.MAX_SAFE_INTEGER;
  const handlers: NonNullable<ParamSpec["special_handlers"]> = [];
  for (const [i, handler] of (written.special_handlers ?? []).entries()) {
    // The seed's manifests ask for up to 2^64-1; JSON carries exact integers only to 2^53-1.
    const min = Math.ceil(Math.max(handler.args?.min ?? 0, written.min ?? -safe, -safe));
    const max = Math.floor(Math.min(handler.args?.max ?? safe, written.max ?? safe, safe));
    if (min > max) return fail(["special_handlers", i, "args"], `leaves no integer to pick between ${min} and ${max}`);
    handlers.push({ ...handler, args: { min, max } });
  }

  const spec: ParamSpec = {
    name,
    type,
    map_to: written.map_to,
    targets: [],
    required: written.required ?? false,
    ...(written.default !== undefined && { default: written.default }),
    ...(written.description !== undefined && { description: written.description }),
    ...(written.min !== undefined && { min: written.min }),
    ...(written.max !== undefined && { max: written.max }),
    ...(written.multiple_of !== undefined && { multiple_of: written.multiple_of }),
    ...(choices !== undefined && { choices }),
    ...(written.choices_from !== undefined && { choices_from: written.choices_from }),
    ...(written.max_length !== undefined && { max_length: written.max_length }),
    ...(handlers.length > 0 && { special_handlers: handlers }),
  };
  if (spec.default !== undefined) {
    const problem = checkValue(spec, spec.default);
    if (problem) return fail(["default"], `default ${problem.message}`);
  }
  return { ok: true, spec };
}

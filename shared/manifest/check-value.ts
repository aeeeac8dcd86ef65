import type { ParamSpec } from "./schema.ts";

/** An uploaded image id: "upl_" + 24 lowercase hex characters. */
export const UPLOAD_ID = /^upl_[0-9a-f]{24}$/;

/** The rules one value is held to (a parameter's spec, or part of one while it loads). */
export type ValueRules = Pick<ParamSpec, "type" | "min" | "max" | "multiple_of" | "choices" | "max_length"> & {
  special_handlers?: { value: string }[] | undefined;
};

export interface ValueProblem {
  rule: "type" | "integer" | "min" | "max" | "multiple_of" | "choices" | "max_length" | "format";
  message: string;
}

const TYPE_NAMES = {
  integer: "an integer",
  float: "a number",
  string: "a string",
  boolean: "true or false (a JSON boolean)",
  image: 'an uploaded image id ("upl_" + 24 hex characters)',
} as const;

/** A value as a message shows it, never at length. */
export function show(value: unknown): string {
  if (typeof value === "string") {
    const quoted = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    return `the string ${quoted}`;
  }
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

function listChoices(choices: readonly unknown[]): string {
  const shown = choices.slice(0, 50).map((c) => JSON.stringify(c));
  return shown.join(", ") + (choices.length > 50 ? `, … (${choices.length - 50} more)` : "");
}

const UNSAFE_INTEGER =
  "JSON numbers are exact only up to 2^53-1, so larger integers are refused" +
  " (ComfyUI itself accepts seeds up to 2^64-1, but they cannot be sent exactly)";

function checkNumber(rules: ValueRules, value: number): ValueProblem | null {
  if (!Number.isFinite(value)) return { rule: "type", message: `must be a finite number, got ${show(value)}` };
  if (rules.type === "integer") {
    if (!Number.isInteger(value)) return { rule: "integer", message: `must be a whole number, got ${value}` };
    const safe = Number.MAX_SAFE_INTEGER;
    if (value > safe && (rules.max === undefined || rules.max >= safe)) {
      return { rule: "max", message: `must be at most ${safe} (2^53-1), got ${value}: ${UNSAFE_INTEGER}` };
    }
    if (value < -safe && (rules.min === undefined || rules.min <= -safe)) {
      return { rule: "min", message: `must be at least -${safe} (-(2^53-1)), got ${value}: ${UNSAFE_INTEGER}` };
    }
  }
  if (rules.min !== undefined && value < rules.min) return { rule: "min", message: `must be at least ${rules.min}, got ${value}` };
  if (rules.max !== undefined && value > rules.max) return { rule: "max", message: `must be at most ${rules.max}, got ${value}` };
  if (rules.multiple_of !== undefined && value % rules.multiple_of !== 0) {
    return { rule: "multiple_of", message: `must be a multiple of ${rules.multiple_of}, got ${value}` };
  }
  return null;
}

function hasType(rules: ValueRules, value: unknown): boolean {
  switch (rules.type) {
    case "integer":
    case "float":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "string":
    case "image":
      return typeof value === "string";
  }
}

/**
 * Checks one value against its rules, with no coercion: "5" is not a number, "false" is
 * not a boolean, 3.9 is not an integer, NaN and Infinity are refused. A special handler's
 * value (e.g. "random") passes as it is; the compiler resolves it.
 */
export function checkValue(rules: ValueRules, value: unknown): ValueProblem | null {
  const handlers = rules.special_handlers ?? [];
  if (typeof value === "string" && handlers.some((h) => h.value === value)) return null;
  if (!hasType(rules, value)) {
    const alternatives = handlers.map((h) => ` or ${JSON.stringify(h.value)}`).join("");
    return { rule: "type", message: `must be ${TYPE_NAMES[rules.type]}${alternatives}, got ${show(value)}` };
  }
  if (typeof value === "number") {
    const problem = checkNumber(rules, value);
    if (problem) return problem;
  }
  if (typeof value === "string") {
    if (rules.type === "image" && !UPLOAD_ID.test(value)) {
      return { rule: "format", message: `must be ${TYPE_NAMES.image} from the upload endpoint, got ${show(value)}` };
    }
    const length = Array.from(value).length;
    if (rules.max_length !== undefined && length > rules.max_length) {
      return { rule: "max_length", message: `must be at most ${rules.max_length} characters, got ${length}` };
    }
  }
  if (rules.choices && !rules.choices.includes(value as string | number | boolean)) {
    return { rule: "choices", message: `must be one of ${listChoices(rules.choices)}; got ${JSON.stringify(value)}` };
  }
  return null;
}

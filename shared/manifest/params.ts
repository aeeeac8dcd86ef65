import type { FieldError } from "../errors.ts";
import { checkValue } from "./check-value.ts";
import type { Catalog, Workflow } from "./schema.ts";

export type ParamsResult = { ok: true; values: Record<string, unknown> } | { ok: false; errors: FieldError[] };

function checkBudget(workflow: Workflow, values: Record<string, unknown>): FieldError | null {
  const limit = workflow.budget?.max_pixel_steps;
  const { width, height, steps } = values;
  if (limit === undefined || typeof width !== "number" || typeof height !== "number" || typeof steps !== "number") return null;
  const cost = width * height * steps;
  if (cost <= limit) return null;
  return {
    path: "params",
    rule: "budget",
    message:
      `width*height*steps = ${width}*${height}*${steps} = ${cost} exceeds workflow ${workflow.id}'s limit of ${limit}; ` +
      "lower width, height or steps",
  };
}

/**
 * The budget of an image-driven workflow: the largest input image's pixels (as recorded at
 * upload) times steps. Null when within it, or when the workflow has no budget or no steps.
 */
export function imageBudgetError(workflow: Workflow, values: Record<string, unknown>, images: { width: number; height: number }[]): FieldError | null {
  const limit = workflow.budget?.max_pixel_steps;
  const { steps } = values;
  if (limit === undefined || typeof steps !== "number" || images.length === 0) return null;
  const largest = images.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const cost = largest.width * largest.height * steps;
  if (cost <= limit) return null;
  return {
    path: "params",
    rule: "budget",
    message:
      `input image width*height*steps = ${largest.width}*${largest.height}*${steps} = ${cost} exceeds workflow ${workflow.id}'s limit of ${limit}; ` +
      "use a smaller image or fewer steps",
  };
}

/**
 * Checks a client's `params` against a workflow: types without coercion, limits, choices,
 * lengths, required, unknown names (each reported), and the workflow's pixel-step budget.
 * On success, `values` holds every parameter that has a value, defaults filled in; a
 * special handler's value (seed "random") stays as sent, for the compiler to resolve.
 */
export function validateParams(_catalog: Catalog, workflow: Workflow, input: unknown): ParamsResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ path: "params", rule: "type", message: "params must be a JSON object of parameter names to values" }] };
  }
  const given = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  const accepted = Object.keys(workflow.params);
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(workflow.params, name)) {
      errors.push({
        path: `params.${name}`,
        rule: "unknown",
        message: `unknown parameter "${name}"; workflow ${workflow.id} accepts ${accepted.join(", ") || "none"}`,
      });
    }
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(workflow.params)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value === undefined) {
      if (spec.required) errors.push({ path: `params.${name}`, rule: "required", message: `${name} is required` });
      else if (spec.default !== undefined) values[name] = spec.default;
      continue;
    }
    const problem = checkValue(spec, value);
    if (problem) {
      const hint = value === null && spec.default !== undefined && !spec.required ? " (leave it out to use the default)" : "";
      errors.push({ path: `params.${name}`, rule: problem.rule, message: `${name} ${problem.message}${hint}` });
    } else {
      values[name] = value;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const overBudget = checkBudget(workflow, values);
  if (overBudget) return { ok: false, errors: [overBudget] };
  return { ok: true, values };
}

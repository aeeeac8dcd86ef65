import { z } from "zod";
import { BudgetSchema, ParamTypeSchema, ScalarSchema, type Catalog, type ParamSpec, type Workflow } from "./schema.ts";

/** One parameter as `GET /workflows/{id}` shows it; absent limits are null. */
export const ParamViewSchema = z.object({
  name: z.string(),
  type: ParamTypeSchema,
  default: ScalarSchema.nullable().describe('Used when the parameter is omitted; seed\'s "random" picks one'),
  required: z.boolean(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  multiple_of: z.number().nullable(),
  choices: z.array(ScalarSchema).nullable(),
  max_length: z.number().nullable().describe("In characters (Unicode code points)"),
  description: z.string().nullable(),
});
export type ParamView = z.infer<typeof ParamViewSchema>;

/** `GET /workflows/{id}`. */
export const WorkflowViewSchema = z.object({
  id: z.string(),
  description: z.string(),
  pool: z.string().describe("The agent pool that runs it"),
  timeout_s: z.number().describe("Longest run allowed"),
  retry_on_timeout: z.number().describe("How many times a job that ran past timeout_s is tried again"),
  max_outputs: z.number().describe("Most output files a job delivers; further ones are dropped and counted"),
  budget: BudgetSchema.nullable().describe("Limit on width*height*steps, if any"),
  parameters: z.array(ParamViewSchema),
});
export type WorkflowView = z.infer<typeof WorkflowViewSchema>;

/** One entry of `GET /workflows`. */
export const WorkflowSummarySchema = z.object({
  id: z.string(),
  description: z.string(),
  pool: z.string(),
  parameters: z.array(z.string()).describe("Parameter names; see GET /workflows/{id} for their rules"),
  required: z.array(z.string()).describe("The parameters a request must send"),
});
export type WorkflowSummary = z.infer<typeof WorkflowSummarySchema>;

/** One entry of `GET /loras`: the original service's shape. */
export const LoraViewSchema = z.object({
  name: z.string().describe("The value to send as the `lora` parameter"),
  description: z.string(),
  prefix: z.string().nullable().describe("Added before the prompt"),
  suffix: z.string().nullable().describe("Added after the prompt"),
  examples: z.array(z.string()),
});
export type LoraView = z.infer<typeof LoraViewSchema>;
export const LoraListViewSchema = z.array(LoraViewSchema);

function paramView(spec: ParamSpec): ParamView {
  return {
    name: spec.name,
    type: spec.type,
    default: spec.default ?? null,
    required: spec.required,
    min: spec.min ?? null,
    max: spec.max ?? null,
    multiple_of: spec.multiple_of ?? null,
    choices: spec.choices ?? null,
    max_length: spec.max_length ?? null,
    description: spec.description ?? null,
  };
}

export function workflowView(w: Workflow): WorkflowView {
  return {
    id: w.id,
    description: w.description,
    pool: w.pool,
    timeout_s: w.timeout_s,
    retry_on_timeout: w.retry_on_timeout,
    max_outputs: w.max_outputs,
    budget: w.budget ?? null,
    parameters: Object.values(w.params).map(paramView),
  };
}

export function workflowSummary(w: Workflow): WorkflowSummary {
  const params = Object.values(w.params);
  return {
    id: w.id,
    description: w.description,
    pool: w.pool,
    parameters: params.map((p) => p.name),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
}

export function loraView(catalog: Catalog): LoraView[] {
  return Object.values(catalog.loras).map((lora) => ({
    name: lora.name,
    description: lora.description,
    prefix: lora.prefix ?? null,
    suffix: lora.suffix ?? null,
    examples: lora.examples,
  }));
}

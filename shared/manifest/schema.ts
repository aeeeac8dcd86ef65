import { z } from "zod";
import { POOL_NAME } from "../protocol.ts";

export { POOL_NAME };
import { ModelRefSchema } from "../models.ts";

/**
 * Schemas for the manifest files (as written) and for the catalog built from them.
 * Objects are strict so a misspelt key (`maxx`, `overides`) fails at load, not silently.
 */

export const PARAM_TYPES = ["integer", "float", "string", "boolean", "image"] as const;
export const ParamTypeSchema = z.enum(PARAM_TYPES);
export type ParamType = z.infer<typeof ParamTypeSchema>;

/** As written in a file: the original's `file` type is read as `image`. */
const WrittenTypeSchema = z
  .enum([...PARAM_TYPES, "file"], {
    error: (issue) => `unknown type ${JSON.stringify(issue.input)}; use one of ${PARAM_TYPES.join(", ")}`,
  })
  .transform((t): ParamType => (t === "file" ? "image" : t));

export const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);
export type Scalar = z.infer<typeof ScalarSchema>;

/** The most `max_outputs` a workflow may allow (an upload index is below it). */
export const MAX_OUTPUTS_LIMIT = 256;

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const WORKFLOW_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const nodeId = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);

/** An explicit target: one input of one graph node. */
export const TargetSchema = z.strictObject({ node: nodeId, input: z.string().min(1) });
export type Target = z.infer<typeof TargetSchema>;

/** `"<_meta.title>"`, `{node, input}`, or a list of them. */
export const MapToSchema = z.union([
  z.string().min(1),
  TargetSchema,
  z.array(z.union([z.string().min(1), TargetSchema])).min(1),
]);
export type MapTo = z.infer<typeof MapToSchema>;

export const SpecialHandlerSchema = z.strictObject({
  value: z.string().min(1).describe("The client value that triggers the action, e.g. `random`"),
  action: z.literal("generate_random_int", { error: "unknown action; the only one is generate_random_int" }),
  args: z.strictObject({ min: z.number(), max: z.number() }).optional(),
});
export type SpecialHandler = z.infer<typeof SpecialHandlerSchema>;

export const CHOICES_FROM = /^loras(:[A-Za-z0-9_.-]+)?$/;
const choicesFrom = z.string().regex(CHOICES_FROM, { error: 'must be "loras" or "loras:<family>"' });

/** One entry of base.yaml. */
export const BaseParamSchema = z.strictObject({
  map_to: MapToSchema,
  type: WrittenTypeSchema,
  default: ScalarSchema.optional(),
  required: z.boolean().optional(),
  description: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  multiple_of: z.number().int().positive().optional(),
  choices: z.array(ScalarSchema).optional(),
  choices_from: choicesFrom.optional(),
  max_length: z.number().int().positive().optional(),
  special_handlers: z.array(SpecialHandlerSchema).optional(),
});
export type BaseParam = z.infer<typeof BaseParamSchema>;

/** `overrides.<param>` in workflows.yaml: any base key; null removes it. */
export const OverrideSchema = z.strictObject({
  map_to: MapToSchema.optional(),
  type: WrittenTypeSchema.optional(),
  default: ScalarSchema.nullable().optional(),
  required: z.boolean().nullable().optional(),
  description: z.string().nullable().optional(),
  min: z.number().nullable().optional(),
  max: z.number().nullable().optional(),
  multiple_of: z.number().int().positive().nullable().optional(),
  choices: z.array(ScalarSchema).nullable().optional(),
  choices_from: choicesFrom.nullable().optional(),
  max_length: z.number().int().positive().nullable().optional(),
  special_handlers: z.array(SpecialHandlerSchema).nullable().optional(),
});
export type Override = z.infer<typeof OverrideSchema>;

export const BudgetSchema = z.strictObject({
  max_pixel_steps: z.number().int().positive().describe("Largest width*height*steps accepted"),
});

/** A node the compiler removes when a parameter has a given value, rewiring its consumers. */
export const OptionalNodeSchema = z.strictObject({
  bypass_when: z.strictObject({ param: z.string().min(1), equals: ScalarSchema }),
  reroute: z
    .record(z.string().regex(/^\d+$/, { error: "keys are output indexes (0, 1, ...)" }), z.string().min(1))
    .describe("output index -> the node input whose source replaces that output"),
});
export type OptionalNode = z.infer<typeof OptionalNodeSchema>;

/** One entry of workflows.yaml. */
export const WorkflowEntrySchema = z.strictObject({
  workflow_file: z
    .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
    .regex(/^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_./-]*\.json$/, { error: "must be a .json file name inside workflows/" }),
  description: z.string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") }).min(1),
  parameters: z.array(z.string()).nullish().transform((v) => v ?? []),
  overrides: z.record(z.string(), OverrideSchema.nullish()).nullish().transform((v) => v ?? {}),
  pool: z.string().regex(POOL_NAME, { error: "must be lowercase letters, digits, _ or -" }).default("default"),
  timeout_s: z
    .number({ error: "must be a number of seconds" })
    .int({ error: "must be a whole number of seconds" })
    .min(1, { error: "must be at least 1 second" })
    .max(86_400, { error: "must be at most 86400 seconds (a day)" })
    .default(600),
  retry_on_timeout: z
    .number({ error: "must be a number of retries" })
    .int({ error: "must be a whole number" })
    .min(0, { error: "must be 0 or more" })
    .max(20, { error: "must be at most 20" })
    .default(1)
    .describe("How many times a job that ran past timeout_s is tried again"),
  max_outputs: z
    .number({ error: "must be a number of files" })
    .int({ error: "must be a whole number" })
    .min(1, { error: "must be at least 1" })
    .max(MAX_OUTPUTS_LIMIT, { error: `must be at most ${MAX_OUTPUTS_LIMIT}` })
    .default(64)
    .describe("Most output files a job delivers; the graph's further files are reported as dropped"),
  budget: BudgetSchema.optional(),
  optional_nodes: z.record(z.string(), OptionalNodeSchema).nullish().transform((v) => v ?? {}),
});
export type WorkflowEntry = z.infer<typeof WorkflowEntrySchema>;

/** One entry of loras.yaml (keyed by the LoRA's file name). */
export const LoraEntrySchema = z.strictObject({
  description: z.string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") }).min(1),
  prefix: z.string().optional(),
  suffix: z.string().optional(),
  examples: z.array(z.string()).nullish().transform((v) => v ?? []),
  family: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
});

/** One node of a ComfyUI API-format graph. */
export const GraphNodeSchema = z.looseObject({
  class_type: z.string().min(1),
  inputs: z.record(z.string(), z.unknown()),
  _meta: z.looseObject({ title: z.string().optional() }).optional(),
});
export type GraphNode = z.infer<typeof GraphNodeSchema>;

/** A ComfyUI API-format graph: node id -> node. */
export const GraphSchema = z.record(z.string(), GraphNodeSchema);
export type Graph = z.infer<typeof GraphSchema>;

// ---------- the loaded catalog ----------

/** A parameter as one workflow accepts it: base.yaml merged with that workflow's overrides. */
export const ParamSpecSchema = z.object({
  name: z.string(),
  type: ParamTypeSchema,
  map_to: MapToSchema.describe("As written in the manifest"),
  targets: z.array(TargetSchema).describe("Every graph input the value is written to"),
  default: ScalarSchema.optional(),
  required: z.boolean(),
  description: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  multiple_of: z.number().optional(),
  choices: z.array(ScalarSchema).optional().describe("choices_from already expanded"),
  choices_from: z.string().optional(),
  max_length: z.number().optional(),
  special_handlers: z
    .array(SpecialHandlerSchema.extend({ args: z.object({ min: z.number(), max: z.number() }) }))
    .optional()
    .describe("args clamped to the parameter's limits and to Number.MAX_SAFE_INTEGER"),
});
export type ParamSpec = z.infer<typeof ParamSpecSchema>;

export const WorkflowSchema = z.object({
  id: z.string(),
  description: z.string(),
  workflow_file: z.string(),
  pool: z.string(),
  timeout_s: z.number(),
  retry_on_timeout: z.number(),
  max_outputs: z.number(),
  budget: BudgetSchema.optional(),
  graph: GraphSchema,
  params: z.record(z.string(), ParamSpecSchema),
  optional_nodes: z.record(z.string(), OptionalNodeSchema),
  models: z.array(ModelRefSchema).describe("Model files the graph names whatever the parameters"),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export const LoraSchema = z.object({
  name: z.string(),
  description: z.string(),
  prefix: z.string().optional(),
  suffix: z.string().optional(),
  examples: z.array(z.string()),
  family: z.string().optional(),
});
export type Lora = z.infer<typeof LoraSchema>;

export const CatalogSchema = z.object({
  workflows: z.record(z.string(), WorkflowSchema),
  loras: z.record(z.string(), LoraSchema),
});
export type Catalog = z.infer<typeof CatalogSchema>;

import { z } from "zod";
import { JobErrorSchema, POOL_NAME } from "./protocol.ts";
import { WorkflowSummarySchema } from "./manifest/views.ts";

/** Parameter values as a client sends them; each is checked against the workflow's manifest. */
// Not z.record: it copies the object and silently drops an own "__proto__" key, which must
// instead reach the manifest check and be refused as an unknown parameter like any other name.
export const ParamsSchema = z
  .custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { error: "must be a JSON object of parameter names to values" })
  .meta({ type: "object", additionalProperties: {}, description: "Workflow parameters, checked against the manifests" });

export const OutputFormatSchema = z.enum(["png", "webp", "jpeg"]);

/**
 * A ComfyUI API-format prompt sent as is (a raw graph). Only its outer shape is checked here;
 * shared/raw-graph.ts checks the nodes, so that each error names its node. Not z.record, for
 * the reason ParamsSchema gives.
 */
export const RawGraphSchema = z
  .custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { error: "must be a ComfyUI API-format prompt: an object of node ids to nodes" })
  .meta({
    type: "object",
    description:
      "A ComfyUI API-format prompt (ComfyUI's \"Export (API)\"), instead of workflow_id + params; only for keys with `\"raw\": true` (and admin keys). " +
      "At most MAX_GRAPH_NODES nodes (default 500); node ids 1-64 of A-Z a-z 0-9 _ . : -; strings at most 65536 characters; input values nest at most 8 deep with at most 4096 items per array or object; " +
      "links [\"<node id>\", <output index>] to nodes the graph has, no cycles; model and LoadImage file names inside their folders (no absolute paths, no \"..\"). " +
      "A LoadImage node names a file in the rig's ComfyUI input folder: one already there, or one `images` supplies.",
    additionalProperties: {
      type: "object",
      required: ["class_type", "inputs"],
      properties: {
        class_type: { type: "string" },
        inputs: { type: "object", additionalProperties: {} },
        _meta: { type: "object", properties: { title: { type: "string" } } },
      },
    },
  });

/** `POST /generate` and `POST /v1/jobs`: the original service's body, plus optional extras. */
export const SubmitBodySchema = z
  .object({
    workflow_id: z.string().min(1).max(128).optional().describe("A workflow from `GET /workflows`; give this or `graph`, not both"),
    params: ParamsSchema.default({}),
    graph: RawGraphSchema.optional(),
    images: z
      .custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { error: 'must be an object of LoadImage node ids to images, e.g. {"10": "upl_…"}' })
      .optional()
      .meta({
        type: "object",
        additionalProperties: {},
        description:
          "With `graph`: input images for its LoadImage / LoadImageMask nodes, by node id (at most 16): an upload id, an https URL, a `data:image/…;base64,` URI, " +
          "`{\"url\"}` or `{\"base64\", \"content_type\"}`. The rig receives the file and the node's `image` input names it. Without this, a LoadImage node can only name a file already on the rig",
      }),
    pool: z
      .string()
      .regex(POOL_NAME, { error: "must be lowercase letters, digits, _ or -" })
      .max(64)
      .optional()
      .describe("With `graph`: the pool whose agents run it (default `default`); a workflow's pool is its manifest's"),
    priority: z.number().int().min(-100).max(100).default(0).describe("Higher runs first; within a priority, keys take turns (round-robin), each key's jobs in order"),
    output_format: OutputFormatSchema.default("png"),
    quality: z.number().int().min(1).max(100).default(90).describe("webp/jpeg quality"),
    webhook_url: z.string().max(2048).optional().describe("POSTed a signed JSON body on every terminal state"),
    callback_url: z.string().max(2048).optional().describe("Alias of `webhook_url` (the original service's name)"),
    previews: z.boolean().default(false).describe("Live previews while the job runs: `preview` events (base64 images, at most 2 a second) on the events feed; nothing is stored"),
    count: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe("How many jobs to make (1-16): consecutive seeds from the one given (or a random start), one batch_id. Workflows only: 1 with `graph`"),
  })
  .strict();
export type SubmitBody = z.infer<typeof SubmitBodySchema>;

export const SubmitResponseSchema = z.object({
  task_id: z.string(),
  status: z.literal("PENDING"),
  status_url: z.string(),
  events_url: z.string(),
  seed: z.number().nullable(),
});
export type SubmitResponse = z.infer<typeof SubmitResponseSchema>;

export const TaskStatusSchema = z.enum(["PENDING", "PROGRESS", "SUCCESS", "FAILURE", "CANCELLED"]);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const ProgressViewSchema = z.object({
  current: z.number().describe("What the phase counts: the running sampler's steps, else nodes done; files uploaded"),
  total: z.number(),
  percent: z.number().describe("The job's progress 0..100: never goes backwards within an attempt; 100 only on SUCCESS"),
  step_name: z.string().nullable().describe("The node running now (its title, else its class)"),
  phase: z.enum(["queued", "running", "uploading", "done"]).describe("queued in ComfyUI, running, uploading the outputs, done"),
  unit: z.enum(["steps", "nodes", "files"]).nullable().describe("What current/total count (null: not said, from an older agent)"),
});

export const OutputViewSchema = z.object({
  url: z.string(),
  expires_at: z.string(),
  content_type: z.string(),
  bytes: z.number(),
  filename: z.string().describe("The download's file name (`<task>-<n>.<ext>`), the same one its Content-Disposition carries"),
  node_id: z.string().describe("The ComfyUI node that made it"),
  node_title: z.string().nullable().describe("That node's title in the graph (`_meta.title`)"),
  sha256: z.string().nullable().describe("SHA-256 of the bytes, hex, as the edge stored them"),
  width: z.number().nullable().describe("Pixels, read from the image's header (null if it has none the edge can read)"),
  height: z.number().nullable(),
});

export const WebhookAttemptSchema = z.object({
  at: z.string(),
  status: z.number().nullable().describe("The receiver's HTTP status, when it answered"),
  outcome: z
    .enum(["delivered", "rejected", "unreachable", "refused"])
    .describe("delivered (2xx); rejected by the receiver (any other status); unreachable (no answer); refused (the target is not allowed)"),
  error: z.string().nullable().describe("A coarse description of the outcome; never a connection error's text"),
});

export const TaskViewSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  state: z.enum(["queued", "leased", "running", "succeeded", "failed", "cancelled"]),
  workflow_id: z.string().nullable().describe("The manifest workflow; null for a raw graph"),
  graph_sha256: z.string().nullable().describe("SHA-256 (hex) of the ComfyUI graph the job runs, as stored (null for jobs older than this field)"),
  pool: z.string(),
  batch_id: z.string().nullable().describe("The batch this job is one of (`count` > 1 on its submit)"),
  priority: z.number(),
  seed: z.number().nullable(),
  progress: ProgressViewSchema.nullable(),
  result: z
    .object({
      download_url: z.string(),
      outputs: z.array(OutputViewSchema),
      dropped_outputs: z.number().describe("Files the graph made beyond the workflow's max_outputs: not delivered"),
    })
    .nullable(),
  error: JobErrorSchema.nullable(),
  attempts: z.number(),
  max_attempts: z.number(),
  queue: z.object({ position: z.number(), waiting_for: z.string().nullable() }).nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  timings: z.object({
    queued_ms: z.number().nullable(),
    run_ms: z.number().nullable(),
    fetch_ms: z.number().nullable().describe("How long the job waited on its models being fetched by the agent that ran it (part of queued_ms); null: it waited on no fetch"),
  }),
  webhook: z.object({ url: z.string(), delivered: z.boolean(), attempts: z.array(WebhookAttemptSchema) }).nullable(),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** One frame of `GET /tasks/{id}/events` (WebSocket message or SSE `data:`). */
export const TaskEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("state"), task: TaskViewSchema }),
  z.object({
    type: z.literal("progress"),
    task_id: z.string(),
    progress: ProgressViewSchema,
  }),
  z.object({
    type: z.literal("preview"),
    task_id: z.string(),
    content_type: z.enum(["image/jpeg", "image/png", "image/webp"]),
    data: z.string().describe("The preview image, base64 (at most 512 px on the long side)"),
    node_id: z.string().nullable().describe("The node that sent it (when ComfyUI says)"),
  }),
]);
export type TaskEvent = z.infer<typeof TaskEventSchema>;

/** `GET /v1/jobs`: the calling key's jobs (admin: every key's), newest first, a page at a time. */
export const JobListQuerySchema = z.strictObject({
  status: z
    .string()
    .regex(/^(PENDING|PROGRESS|SUCCESS|FAILURE|CANCELLED)(,(PENDING|PROGRESS|SUCCESS|FAILURE|CANCELLED))*$/, "one or more of PENDING, PROGRESS, SUCCESS, FAILURE, CANCELLED, comma-separated")
    .optional(),
  workflow_id: z.string().min(1).max(128).optional(),
  owner: z.string().min(1).max(128).optional().describe("admin keys only: one key's jobs (by the key's name)"),
  limit: z
    .string()
    .regex(/^(100|[1-9][0-9]?)$/, "a whole number from 1 to 100")
    .optional()
    .describe("page size (default 20)"),
  cursor: z.string().max(256).optional().describe("next_cursor of the previous page"),
});
export type JobListQuery = z.infer<typeof JobListQuerySchema>;

export const JobListSchema = z.object({
  jobs: z.array(TaskViewSchema),
  next_cursor: z.string().nullable().describe("pass as ?cursor= for the next (older) page; null on the last page"),
});
export type JobList = z.infer<typeof JobListSchema>;

/** `POST /v1/jobs` with `count` > 1: one batch of jobs with consecutive seeds. */
export const BatchSubmitResponseSchema = z.object({
  batch_id: z.string(),
  status: z.literal("PENDING"),
  status_url: z.string().describe("GET it for every job of the batch; DELETE it to cancel them"),
  task_ids: z.array(z.string()),
  seeds: z.array(z.number().nullable()),
});
export type BatchSubmitResponse = z.infer<typeof BatchSubmitResponseSchema>;

export const BatchViewSchema = z.object({
  batch_id: z.string(),
  status: z
    .enum(["PENDING", "PROGRESS", "SUCCESS", "FAILURE", "CANCELLED", "PARTIAL"])
    .describe("PENDING: none started; PROGRESS: some running or not yet all ended; SUCCESS: all succeeded; FAILURE / CANCELLED: all ended so; PARTIAL: all ended, some succeeded"),
  counts: z.partialRecord(TaskStatusSchema, z.number()).describe("Jobs by status (absent: none)"),
  tasks: z.array(TaskViewSchema),
});
export type BatchView = z.infer<typeof BatchViewSchema>;

/** One entry of `GET /workflows`: the workflow, and how many agents could run it now. */
export const WorkflowListingSchema = WorkflowSummarySchema.extend({
  agents_ready: z
    .number()
    .int()
    .nonnegative()
    .describe(
      "Connected agents (taking jobs) that can run this workflow now at its default parameters: they hold every model file it loads and their ComfyUI has every node class it uses. 0: jobs wait for one (or for a model fetch).",
    ),
});
export type WorkflowListing = z.infer<typeof WorkflowListingSchema>;

/** `GET /workflows`. */
export const WorkflowListSchema = z.object({ workflows: z.array(WorkflowListingSchema) });

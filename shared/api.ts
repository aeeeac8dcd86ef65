import { z } from "zod";
import { JobErrorSchema } from "./protocol.ts";

/** Parameter values as a client sends them; each is checked against the workflow's manifest. */
export const ParamsSchema = z.record(z.string(), z.unknown()).describe("Workflow parameters, checked against the manifests");

export const OutputFormatSchema = z.enum(["png", "webp", "jpeg"]);

/** `POST /generate` and `POST /v1/jobs`: the original service's body, plus optional extras. */
export const SubmitBodySchema = z
  .object({
    workflow_id: z.string().min(1).max(128).describe("A workflow from `GET /workflows`"),
    params: ParamsSchema.default({}),
    priority: z.number().int().min(-100).max(100).default(0).describe("Higher runs first; FIFO within a priority"),
    output_format: OutputFormatSchema.default("png"),
    quality: z.number().int().min(1).max(100).default(90).describe("webp/jpeg quality"),
    webhook_url: z.string().max(2048).optional().describe("POSTed a signed JSON body on every terminal state"),
    callback_url: z.string().max(2048).optional().describe("Alias of `webhook_url` (the original service's name)"),
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
  current: z.number(),
  total: z.number(),
  percent: z.number(),
  step_name: z.string().nullable(),
});

export const OutputViewSchema = z.object({
  url: z.string(),
  expires_at: z.string(),
  content_type: z.string(),
  bytes: z.number(),
  filename: z.string(),
  node_id: z.string(),
});

export const WebhookAttemptSchema = z.object({
  at: z.string(),
  status: z.number().nullable(),
  error: z.string().nullable(),
});

export const TaskViewSchema = z.object({
  task_id: z.string(),
  status: TaskStatusSchema,
  state: z.enum(["queued", "leased", "running", "succeeded", "failed", "cancelled"]),
  workflow_id: z.string(),
  pool: z.string(),
  priority: z.number(),
  seed: z.number().nullable(),
  progress: ProgressViewSchema.nullable(),
  result: z.object({ download_url: z.string(), outputs: z.array(OutputViewSchema) }).nullable(),
  error: JobErrorSchema.nullable(),
  attempts: z.number(),
  max_attempts: z.number(),
  queue: z.object({ position: z.number(), waiting_for: z.string().nullable() }).nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  timings: z.object({ queued_ms: z.number().nullable(), run_ms: z.number().nullable() }),
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
]);
export type TaskEvent = z.infer<typeof TaskEventSchema>;

import { z } from "zod";

/** ComfyUI's wire shapes (v0.3.x, see COMFYUI-PROTOCOL.md), parsed leniently: unknown keys are dropped. */

/** Node ids are strings in API-format graphs; some custom nodes send numbers. */
const nodeId = z.union([z.string(), z.number()]).transform(String);

// ---------- WebSocket events ----------

const event = <T extends string, S extends z.ZodType>(type: T, data: S) => z.object({ type: z.literal(type), data });

export const StatusEventSchema = event(
  "status",
  z.object({
    status: z.object({ exec_info: z.object({ queue_remaining: z.number() }) }).optional(),
    sid: z.string().optional(),
  }),
);
export const ExecutionStartSchema = event("execution_start", z.object({ prompt_id: z.string() }));
export const ExecutionCachedSchema = event(
  "execution_cached",
  z.object({ prompt_id: z.string(), nodes: z.array(nodeId).default([]) }),
);
export const ExecutingSchema = event(
  "executing",
  z.object({
    node: nodeId.nullable(),
    display_node: nodeId.nullable().optional(),
    // Absent when ComfyUI replays the current node to a reconnecting socket.
    prompt_id: z.string().optional(),
  }),
);
export const ProgressEventSchema = event(
  "progress",
  z.object({ value: z.number(), max: z.number(), prompt_id: z.string().optional(), node: nodeId.nullable().optional() }),
);
/** ComfyUI ≥ 0.3.4x: every non-pending node of the prompt with its state (comfy_execution/progress.py). */
export const ProgressStateSchema = event(
  "progress_state",
  z.object({
    prompt_id: z.string(),
    nodes: z.record(z.string(), z.object({ value: z.number(), max: z.number(), state: z.string() })).default({}),
  }),
);
export const ExecutedSchema = event("executed", z.object({ node: nodeId, prompt_id: z.string(), output: z.unknown() }));
export const ExecutionSuccessSchema = event("execution_success", z.object({ prompt_id: z.string() }));
export const ExecutionErrorDataSchema = z.object({
  prompt_id: z.string(),
  node_id: nodeId.optional(),
  node_type: z.string().optional(),
  exception_message: z.string().default(""),
  exception_type: z.string().default(""),
  traceback: z.array(z.string()).default([]),
  executed: z.array(nodeId).default([]),
});
export const ExecutionErrorSchema = event("execution_error", ExecutionErrorDataSchema);
export const ExecutionInterruptedDataSchema = z.object({
  prompt_id: z.string(),
  node_id: nodeId.optional(),
  node_type: z.string().optional(),
  executed: z.array(nodeId).default([]),
});
export const ExecutionInterruptedSchema = event("execution_interrupted", ExecutionInterruptedDataSchema);

export const ComfyEventSchema = z.discriminatedUnion("type", [
  StatusEventSchema,
  ExecutionStartSchema,
  ExecutionCachedSchema,
  ExecutingSchema,
  ProgressEventSchema,
  ProgressStateSchema,
  ExecutedSchema,
  ExecutionSuccessSchema,
  ExecutionErrorSchema,
  ExecutionInterruptedSchema,
]);
export type ComfyEvent = z.infer<typeof ComfyEventSchema>;
export type ExecutionErrorData = z.infer<typeof ExecutionErrorDataSchema>;
export type ExecutionInterruptedData = z.infer<typeof ExecutionInterruptedDataSchema>;

// ---------- HTTP bodies ----------

export const PromptAcceptedSchema = z.object({
  prompt_id: z.string(),
  number: z.number().optional(),
  node_errors: z.record(z.string(), z.unknown()).default({}),
});

export const PromptRejectedSchema = z.object({
  error: z.union([
    z.object({
      type: z.string().default("invalid_prompt"),
      message: z.string().default(""),
      details: z.unknown().optional(),
      extra_info: z.unknown().optional(),
    }),
    z.string().transform((message) => ({ type: "invalid_prompt", message, details: undefined, extra_info: undefined })),
  ]),
  node_errors: z.record(z.string(), z.unknown()).default({}),
});
export type PromptRejected = z.infer<typeof PromptRejectedSchema>;

/** One file an output node produced, under whatever key it files it (`images`, `gifs`, `audio`, ...). */
export const OutputFileRefSchema = z.object({
  filename: z.string().min(1),
  subfolder: z.string().default(""),
  type: z.string().default("output"),
});

export const HistoryEntrySchema = z.object({
  outputs: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  status: z
    .object({
      status_str: z.string().optional(),
      completed: z.boolean().optional(),
      messages: z.array(z.tuple([z.string(), z.unknown()])).default([]),
    })
    .optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const HistorySchema = z.record(z.string(), HistoryEntrySchema);

/** Queue items are `[number, prompt_id, graph, extra_data, outputs]`. */
const QueueItemSchema = z.array(z.unknown()).transform((item) => (typeof item[1] === "string" ? item[1] : null));
export const QueueSchema = z.object({
  queue_running: z.array(QueueItemSchema).default([]),
  queue_pending: z.array(QueueItemSchema).default([]),
});

/** A queue item with who queued it: the `client_id` and `extra_data` its submitter put in (ComfyUI records nothing else). */
const QueueEntrySchema = z.array(z.unknown()).transform((item) => {
  const extra = typeof item[3] === "object" && item[3] !== null && !Array.isArray(item[3]) ? (item[3] as Record<string, unknown>) : {};
  return typeof item[1] === "string" ? { prompt_id: item[1], extra_data: extra } : null;
});
export const QueueEntriesSchema = z.object({
  queue_running: z.array(QueueEntrySchema).default([]),
  queue_pending: z.array(QueueEntrySchema).default([]),
});

export const SystemStatsSchema = z.object({
  system: z.record(z.string(), z.unknown()).default({}),
  devices: z
    .array(z.object({ name: z.string().default("unknown"), type: z.string().optional(), vram_total: z.number().nonnegative().default(0) }))
    .default([]),
});
export type SystemStats = z.infer<typeof SystemStatsSchema>;

export const UploadedImageSchema = z.object({
  name: z.string().min(1),
  subfolder: z.string().default(""),
  type: z.string().default("input"),
});
export type UploadedImage = z.infer<typeof UploadedImageSchema>;

export const ModelFoldersSchema = z.array(z.string());
/** `/models/{folder}` lists names; newer ComfyUI builds may list `{name}` objects. */
export const ModelFilesSchema = z.array(
  z.union([z.string(), z.object({ name: z.string() }).transform((o) => o.name)]),
);

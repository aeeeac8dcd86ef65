import { z } from "zod";
import { ModelRefSchema } from "./models.ts";

/**
 * The agent <-> edge WebSocket protocol. Every frame is JSON, validated on both ends
 * against these schemas (a discriminated union on `type`). Bump PROTOCOL_VERSION on any
 * incompatible change; the edge refuses a `hello` with another major version.
 */
export const PROTOCOL_VERSION = 1;

/** Close codes the edge uses, with reasons the agent logs. */
export const CLOSE = {
  normal: 1000,
  protocolMismatch: 4000,
  helloRequired: 4001,
  replaced: 4002,
  drained: 4003,
  /** No frame from the agent for longer than the liveness bound: its leases went back to the queue; reconnect. */
  silent: 4004,
  /** The agent id is bound to another agent key; this key may not take it over. */
  identityTaken: 4005,
} as const;

const id = z.string().min(1).max(128);

/** A pool name: lowercase letters, digits, _ and - (it names a queue object and a metrics label). */
export const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const ModelInventorySchema = z
  .record(z.string().max(64), z.array(z.string().max(512)).max(10_000))
  .describe("Model files by ComfyUI folder (checkpoints, loras, unet, vae, ...)");
export type ModelInventory = z.infer<typeof ModelInventorySchema>;

/**
 * The node classes a rig's ComfyUI offers (the keys of `/object_info`, custom nodes included), a
 * digest of that sorted list (the edge keeps one copy per digest), and ComfyUI's version.
 */
export const NodeCatalogSchema = z.object({
  digest: z.string().min(1).max(128),
  classes: z.array(z.string().min(1).max(256)).max(20_000),
  comfyui_version: z.string().max(64).nullable(),
});
export type NodeCatalog = z.infer<typeof NodeCatalogSchema>;

/**
 * What a rig can do about models on demand: free space in its models folder, the budget for files
 * it fetched (`--models-cache-gb`, null: none set), and the files it fetched (evictable,
 * `folder/name`). Absent or null: this agent does not fetch models (no models folder known).
 */
export const ModelStoreSchema = z.object({
  free_bytes: z.number().int().nonnegative(),
  budget_bytes: z.number().int().nonnegative().nullable(),
  fetched: z.array(z.string().max(600)).max(10_000),
});
export type ModelStore = z.infer<typeof ModelStoreSchema>;

export const GpuSchema = z.object({
  name: z.string().max(256),
  vram_total_mb: z.number().int().nonnegative(),
});

// ---------- agent -> edge ----------

export const HelloSchema = z.object({
  type: z.literal("hello"),
  protocol: z.number().int(),
  agent_id: id,
  name: z.string().max(128),
  version: z.string().max(64),
  pool: z.string().regex(POOL_NAME),
  capacity: z.number().int().min(1).max(64),
  prefetch: z.number().int().min(0).max(16),
  inventory: ModelInventorySchema,
  gpu: GpuSchema.nullable(),
  /** Set when the agent starts out not taking jobs (its ComfyUI is unreachable): why, as `pause` says it. */
  pause_reason: z.string().max(256).nullable().optional(),
  /** The rig's node classes; absent (an older agent, or ComfyUI not read yet): the edge assumes it has any class. */
  nodes: NodeCatalogSchema.nullable().optional(),
  /** Absent or null: the agent cannot fetch models on demand. */
  model_store: ModelStoreSchema.nullable().optional(),
});

/** The leases an agent holds, and how many of those are only uploading their outputs. */
export type HeldLeases = { total: number; uploading: number };

/**
 * How many more jobs an agent takes, the rule both sides apply. A lease whose outputs are
 * uploading no longer uses ComfyUI, so it does not count against `capacity + prefetch` (the
 * next job runs while the last one uploads); all leases count against twice that, so slow
 * uploads cannot pile up without bound.
 */
export function freeSlots(agent: { capacity: number; prefetch: number }, held: HeldLeases): number {
  const slots = agent.capacity + agent.prefetch;
  return Math.max(0, Math.min(slots - (held.total - held.uploading), 2 * slots - held.total));
}

export const LeaseRefSchema = z.object({ job_id: id, lease_id: id });
export type LeaseRef = z.infer<typeof LeaseRefSchema>;

export const HeartbeatSchema = z.object({
  type: z.literal("heartbeat"),
  leases: z.array(LeaseRefSchema).max(128),
});

export const ProgressSchema = LeaseRefSchema.extend({
  type: z.literal("progress"),
  phase: z.enum(["queued", "running", "uploading"]),
  value: z.number().nonnegative().max(1e9),
  max: z.number().nonnegative().max(1e9),
  node: z.string().max(128).nullable().optional(),
  step_name: z.string().max(256).nullable().optional(),
  /** The job's progress, 0..100, never lower than the lease's last report. */
  percent: z.number().min(0).max(100).optional(),
  /** What value/max count: a sampler's steps, the graph's nodes done, the outputs uploaded. */
  unit: z.enum(["steps", "nodes", "files"]).optional(),
}).refine((p) => p.value <= p.max, { message: "value must not exceed max (0 ≤ value ≤ max)", path: ["value"] });

export const OutputSchema = z.object({
  key: z.string().max(512),
  content_type: z.string().max(128),
  bytes: z.number().int().nonnegative(),
  filename: z.string().max(512),
  node_id: z.string().max(128),
  // Set by the edge from what it stored and the job's graph; an agent's values are replaced.
  sha256: z.string().max(64).optional(),
  width: z.number().int().nonnegative().nullable().optional(),
  height: z.number().int().nonnegative().nullable().optional(),
  node_title: z.string().max(256).nullable().optional(),
});
export type Output = z.infer<typeof OutputSchema>;

export const CompleteSchema = LeaseRefSchema.extend({
  type: z.literal("complete"),
  /** At most the grant's `max_files` (the workflow's `max_outputs`, itself at most 256). */
  outputs: z.array(OutputSchema).max(256),
  prompt_id: z.string().max(128).optional(),
  run_ms: z.number().nonnegative().max(31 * 86_400_000).optional(),
  /** Files the graph made beyond `max_files`: not delivered, only counted. */
  dropped_outputs: z.number().int().nonnegative().max(1_000_000).optional(),
});

export const JobErrorSchema = z.object({
  code: z.string().max(64),
  message: z.string().max(4096),
  node_id: z.string().max(128).optional(),
  node_type: z.string().max(256).optional(),
  exception_type: z.string().max(256).optional(),
  details: z.unknown().optional(),
});
export type JobError = z.infer<typeof JobErrorSchema>;

export const FailSchema = LeaseRefSchema.extend({
  type: z.literal("fail"),
  retryable: z.boolean(),
  error: JobErrorSchema,
});

/** Hands an unstarted (or abandoned) lease back without counting an attempt. */
export const ReleaseSchema = LeaseRefSchema.extend({
  type: z.literal("release"),
  reason: z.string().max(256),
});

/** The agent stops taking new work (it is draining, or its ComfyUI is unreachable); in-flight leases stay valid. */
export const PauseSchema = z.object({ type: z.literal("pause"), reason: z.string().max(256).optional() });

/** The agent takes work again after a `pause` (its ComfyUI answers again). */
export const ResumeSchema = z.object({ type: z.literal("resume") });

/** The largest preview an agent may relay (base64 text): ComfyUI's previews are ≤ 512 px JPEG/PNG. */
export const MAX_PREVIEW_BASE64 = 700_000;

/** A live preview of a running job (ComfyUI's binary preview frame), relayed to the job's watchers; never stored. */
export const PreviewSchema = LeaseRefSchema.extend({
  type: z.literal("preview"),
  content_type: z.enum(["image/jpeg", "image/png", "image/webp"]),
  data: z.string().max(MAX_PREVIEW_BASE64).regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64"),
  node_id: z.string().max(128).nullable().optional(),
});
export type PreviewMessage = z.infer<typeof PreviewSchema>;

/**
 * The agent's model files changed (a periodic look, a ComfyUI restart, a `model_missing`, a fetch or
 * an eviction): the whole new inventory. `nodes` and `model_store` come when they changed (absent: as before).
 */
export const InventoryMessageSchema = z.object({
  type: z.literal("inventory"),
  inventory: ModelInventorySchema,
  nodes: NodeCatalogSchema.optional(),
  model_store: ModelStoreSchema.nullable().optional(),
});

/** Why a model fetch failed, as the agent classes it. */
export const FETCH_ERROR_CODES = ["not_found", "checksum_mismatch", "disk_full", "download_failed", "refused"] as const;

/** How far a model fetch (`fetch`) has come; at most about one a second. */
export const FetchProgressSchema = z.object({
  type: z.literal("fetch_progress"),
  fetch_id: id,
  bytes: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
});

/**
 * A model fetch ended. On success the file is in place, verified, and `inventory` (and
 * `model_store`) are the rig's new ones, so the edge may route to it at once.
 */
export const FetchResultSchema = z.object({
  type: z.literal("fetch_result"),
  fetch_id: id,
  ok: z.boolean(),
  error: z.object({ code: z.enum(FETCH_ERROR_CODES), message: z.string().max(1024) }).optional(),
  bytes: z.number().int().nonnegative().optional(),
  ms: z.number().nonnegative().optional(),
  inventory: ModelInventorySchema.optional(),
  model_store: ModelStoreSchema.nullable().optional(),
});
export type FetchResult = z.infer<typeof FetchResultSchema>;

export const AgentMessageSchema = z.discriminatedUnion("type", [
  HelloSchema,
  HeartbeatSchema,
  ProgressSchema,
  CompleteSchema,
  FailSchema,
  ReleaseSchema,
  PauseSchema,
  ResumeSchema,
  InventoryMessageSchema,
  PreviewSchema,
  FetchProgressSchema,
  FetchResultSchema,
]);
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type Hello = z.infer<typeof HelloSchema>;

// ---------- edge -> agent ----------

export const WelcomeSchema = z.object({
  type: z.literal("welcome"),
  protocol: z.number().int(),
  agent_id: id,
  lease_ttl_ms: z.number().int().positive(),
  heartbeat_ms: z.number().int().positive(),
});

export const UploadGrantSchema = z.object({
  /** PUT `${base_url}/${index}?exp=${exp}&sig=${sig}` for index in [0, max_files). */
  base_url: z.string().url(),
  exp: z.number().int(),
  sig: z.string(),
  max_files: z.number().int().positive(),
  max_bytes: z.number().int().positive(),
});
export type UploadGrant = z.infer<typeof UploadGrantSchema>;

export const InputFileSchema = z.object({
  /** The graph node whose `inputs.image` gets the uploaded ComfyUI file name. */
  node_id: z.string(),
  input: z.string(),
  url: z.string().url(),
  filename: z.string(),
});

export const JobSchema = LeaseRefSchema.extend({
  type: z.literal("job"),
  attempt: z.number().int().positive(),
  deadline: z.number().int().describe("Epoch ms after which the lease is void unless renewed"),
  graph: z.record(z.string(), z.unknown()),
  output_format: z.object({ type: z.enum(["png", "webp", "jpeg"]), quality: z.number().int().min(1).max(100) }),
  upload: UploadGrantSchema,
  inputs: z.array(InputFileSchema).default([]),
  models: z.array(z.string()).default([]),
  /** The workflow's `timeout_s`: the agent stops the run (ComfyUI interrupt) and fails it with code `timeout`. */
  timeout_s: z.number().int().positive().optional(),
  /** The client asked for live previews: relay ComfyUI's preview frames (`preview`), at most 2 a second. */
  previews: z.boolean().optional(),
});
export type JobMessage = z.infer<typeof JobSchema>;

/**
 * Download a model from the edge's catalog (models.ini) into the rig's models folder, verify it,
 * refresh the inventory, answer `fetch_result`. A Hugging Face token comes from the rig's env only.
 */
export const FetchSchema = z.object({
  type: z.literal("fetch"),
  fetch_id: id,
  /** `folder` as models.ini's section (a folder under ComfyUI's models/), `name` the file name to save. */
  model: ModelRefSchema,
  url: z.string().url(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  bytes: z.number().int().positive().nullable(),
});
export type FetchMessage = z.infer<typeof FetchSchema>;

export const CancelSchema = LeaseRefSchema.extend({ type: z.literal("cancel") });
export const DrainSchema = z.object({ type: z.literal("drain"), reason: z.string() });
export const ServerErrorSchema = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  job_id: z.string().optional(),
  lease_id: z.string().optional(),
});
/** Acknowledges a `complete`/`fail`/`release`, so the agent can forget the lease. */
export const AckSchema = LeaseRefSchema.extend({ type: z.literal("ack"), of: z.enum(["complete", "fail", "release"]) });

export const EdgeMessageSchema = z.discriminatedUnion("type", [
  WelcomeSchema,
  JobSchema,
  CancelSchema,
  DrainSchema,
  ServerErrorSchema,
  AckSchema,
  FetchSchema,
]);
export type EdgeMessage = z.infer<typeof EdgeMessageSchema>;

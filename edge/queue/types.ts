import type { JobError, Output } from "../../shared/protocol.ts";
import type { ModelRef } from "../../shared/models.ts";

export type JobState = "queued" | "leased" | "running" | "succeeded" | "failed" | "cancelled";
export const ACTIVE_STATES: readonly JobState[] = ["leased", "running"];
export const TERMINAL_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];

export interface ImageInputRef {
  node_id: string;
  input: string;
  upload_id: string;
}

/** What the Worker hands the queue for a new job (already validated and compiled). */
export interface NewJob {
  id: string;
  owner: string;
  /** The manifest workflow; RAW_WORKFLOW_ID ('') for a raw graph, which views show as null. */
  workflow_id: string;
  pool: string;
  priority: number;
  /**
   * The validated params and the compiled ComfyUI graph as JSON text: the queue stores and
   * forwards them as they are, and one string crosses the Worker → Durable Object call far
   * more cheaply than a cloned object tree.
   */
  params_json: string;
  graph_json: string;
  /** SHA-256 of graph_json, hex: which graph the job ran, for the task view. */
  graph_sha256?: string | null;
  models: ModelRef[];
  /** The node classes the graph uses (sorted, unique): it goes only to agents whose catalog has them all. */
  nodes?: string[];
  inputs: ImageInputRef[];
  seed: number | null;
  output_format: "png" | "webp" | "jpeg";
  quality: number;
  timeout_s: number;
  /** How many timed-out attempts are retried (the workflow's `retry_on_timeout`; default 1). */
  retry_on_timeout?: number;
  /** The workflow's `max_outputs`: the most files the job delivers (default 64). */
  max_outputs?: number;
  idem_key: string | null;
  idem_hash: string | null;
  webhook_url: string | null;
  /** The batch (`count` > 1 on one submit) this job is one of. */
  batch_id?: string | null;
  /** The client asked for live previews. */
  previews?: boolean;
}

/** A raw graph's job has no workflow; `jobs.workflow_id` is NOT NULL, so it stores this. */
export const RAW_WORKFLOW_ID = "";

export interface ProgressState {
  phase: "queued" | "running" | "uploading";
  value: number;
  max: number;
  node: string | null;
  step_name: string | null;
  /** The job's progress 0..100 as the agent measures it (absent from older agents): never lowered within a lease. */
  percent?: number;
  unit?: "steps" | "nodes" | "files";
}

export interface WebhookAttempt {
  at: number;
  status: number | null;
  error: string | null;
}

export interface WebhookState {
  delivered: boolean;
  attempts: WebhookAttempt[];
  /** The event id, stable across retries so receivers can de-duplicate. */
  event_id: string;
}

/** A job as the queue holds it (JSON columns parsed). */
export interface Job {
  seq: number;
  id: string;
  owner: string;
  workflow_id: string;
  pool: string;
  state: JobState;
  priority: number;
  attempts: number;
  max_attempts: number;
  models: ModelRef[];
  models_sig: string;
  inputs: ImageInputRef[];
  seed: number | null;
  output_format: "png" | "webp" | "jpeg";
  quality: number;
  timeout_s: number;
  lease_id: string | null;
  lease_expires: number | null;
  agent_id: string | null;
  progress: ProgressState | null;
  outputs: Output[] | null;
  error: JobError | null;
  created_at: number;
  enqueued_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
  idem_key: string | null;
  idem_hash: string | null;
  webhook_url: string | null;
  webhook: WebhookState | null;
  webhook_next_at: number | null;
  /** While running: when the edge fails the attempt for running past timeout_s (plus a grace). */
  run_deadline: number | null;
  /** Attempts that ended in a timeout so far, and how many of them may be retried. */
  timeouts: number;
  /** Times a running attempt was handed back (its ComfyUI became unreachable) rather than failed. */
  handbacks: number;
  batch_id: string | null;
  /** 1 when the client asked for live previews. */
  previews: number;
  retry_on_timeout: number;
  max_outputs: number;
  /** Files the graph made beyond `max_outputs`, which the agent did not deliver. */
  outputs_dropped: number;
  /** SHA-256 of the stored graph (null for jobs stored before the column existed). */
  graph_sha256: string | null;
  /** How long it waited on model fetches for the agent that ran it (set at lease; null: it waited on none). */
  fetch_ms?: number | null;
}

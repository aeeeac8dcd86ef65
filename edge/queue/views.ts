import type { TaskStatus, TaskView } from "../../shared/api.ts";
import { expiryFrom, signedUrl } from "../auth/signing.ts";
import type { Config } from "../env.ts";
import { downloadName } from "../http/download-name.ts";
import { clientError } from "./agent-errors.ts";
import { RAW_WORKFLOW_ID, type Job, type JobState, type ProgressState } from "./types.ts";
import { attemptView } from "../webhooks/outcome.ts";

export const STATUS: Record<JobState, TaskStatus> = {
  queued: "PENDING",
  leased: "PENDING",
  running: "PROGRESS",
  succeeded: "SUCCESS",
  failed: "FAILURE",
  cancelled: "CANCELLED",
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export type ProgressView = NonNullable<TaskView["progress"]>;

/** Rounded to 0.1; below 100 until the job succeeded (an agent's "uploading 3/3" is not done yet). */
export function progressView(p: ProgressState): ProgressView {
  const raw = p.percent ?? (p.max > 0 ? (p.value / p.max) * 100 : 0);
  const percent = Math.min(99.9, Math.max(0, Math.round(raw * 10) / 10));
  return { current: p.value, total: p.max, percent, step_name: p.step_name, phase: p.phase, unit: p.unit ?? null };
}

/** A succeeded job's progress, whatever its agent reported last: its files all delivered, 100%. */
function doneView(job: Job): ProgressView {
  const total = Math.max(1, job.outputs?.length ?? 0);
  return { current: total, total, percent: 100, step_name: null, phase: "done", unit: "files" };
}

export interface QueueInfo {
  position: number;
  waiting_for: string | null;
}

/** The public view of a job: the original's fields plus signed links, timings, attempts and errors. */
export async function taskView(job: Job, config: Config, queue: QueueInfo | null, now = Date.now()): Promise<TaskView> {
  let result: TaskView["result"] = null;
  if (job.state === "succeeded" && job.outputs) {
    const exp = expiryFrom(now, config.LINK_TTL_S, job.expires_at ?? undefined);
    const outputs = await Promise.all(
      job.outputs.map(async (o) => ({
        url: await signedUrl(config.PUBLIC_URL, `/files/${o.key}`, config.SIGNING_KEY, "file", o.key, exp),
        expires_at: new Date(exp * 1000).toISOString(),
        content_type: o.content_type,
        bytes: o.bytes,
        filename: downloadName(o.key, o.content_type),
        node_id: o.node_id,
        node_title: o.node_title ?? null,
        sha256: o.sha256 ?? null,
        width: o.width ?? null,
        height: o.height ?? null,
      })),
    );
    result = { download_url: outputs[0]?.url ?? "", outputs, dropped_outputs: job.outputs_dropped ?? 0 };
  }
  return {
    task_id: job.id,
    status: STATUS[job.state],
    state: job.state,
    workflow_id: job.workflow_id === RAW_WORKFLOW_ID ? null : job.workflow_id,
    graph_sha256: job.graph_sha256 ?? null,
    batch_id: job.batch_id ?? null,
    pool: job.pool,
    priority: job.priority,
    seed: job.seed,
    progress: job.state === "succeeded" ? doneView(job) : job.progress ? progressView(job.progress) : null,
    result,
    error: job.state === "succeeded" || !job.error ? null : clientError(job.error),
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    queue: job.state === "queued" ? queue : null,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    timings: {
      queued_ms: job.started_at !== null ? job.started_at - job.created_at : null,
      run_ms: job.finished_at !== null && job.started_at !== null ? job.finished_at - job.started_at : null,
      fetch_ms: job.fetch_ms ?? null,
    },
    webhook: job.webhook_url
      ? {
          url: job.webhook_url,
          delivered: job.webhook?.delivered ?? false,
          attempts: (job.webhook?.attempts ?? []).map(attemptView),
        }
      : null,
  };
}

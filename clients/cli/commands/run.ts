import { randomUUID } from "node:crypto";
import type { SubmitResponse, TaskView } from "../../../shared/api.ts";
import { ComfyEdgeClient } from "../../sdk/client.ts";
import { isComfyEdgeError } from "../../sdk/errors.ts";
import { CLIError, EXIT_CODES, toCLIError } from "../cli-error.ts";
import { isRich, writeLine, type Io } from "../io.ts";
import { liveReporter } from "../ui/live-reporter.ts";
import { plainReporter, silentReporter, type RunReporter } from "../ui/reporter.ts";
import { colorsFor, formatDuration } from "../ui/theme.ts";
import { RUN_USAGE } from "../usage.ts";
import { parseRunRequest, type RunRequest } from "./run-request.ts";

const CANCEL_GRACE_MS = 10_000;

/** Cancels a job we are walking away from; says what happened rather than failing the exit path. */
async function cancelOnExit(client: ComfyEdgeClient, taskId: string): Promise<string> {
  try {
    const task = await client.cancel(taskId, { signal: AbortSignal.timeout(CANCEL_GRACE_MS) });
    return `task ${taskId} ${task.status === "CANCELLED" ? "cancelled" : `is ${task.status}`}`;
  } catch (e) {
    if (isComfyEdgeError(e) && e.code === "not_cancellable") return `task ${taskId} had already finished`;
    return `could not cancel task ${taskId} (${e instanceof Error ? e.message : String(e)}); run: comfy-gen cancel ${taskId}`;
  }
}

function reporterFor(req: RunRequest, io: Io): RunReporter {
  if (req.json) return silentReporter;
  const c = colorsFor(io);
  return isRich(io) ? liveReporter(io, c) : plainReporter(io, c);
}

async function follow(client: ComfyEdgeClient, req: RunRequest, io: Io, reporter: RunReporter, onSubmitted: (job: SubmitResponse) => void) {
  const deadline = req.timeoutMs === undefined ? undefined : Date.now() + req.timeoutMs;
  const signal = io.interrupt;
  if (req.image) {
    reporter.note(`uploading ${req.image.path}`);
    const upload = await client.uploadImageFile(req.image.path, { signal });
    req.body.params[req.image.param] = upload.upload_id;
  }
  if (req.json) {
    const task = await runWaiting(client, req, io, (id) => onSubmitted({ task_id: id } as SubmitResponse), deadline);
    const files = task.status === "SUCCESS" ? await client.download(task, req.outDir, { signal }) : [];
    return { task, files };
  }
  const job = await client.submit(req.body, { signal });
  onSubmitted(job);
  const prompt = req.body.params.prompt;
  reporter.submitted(job, req.body.workflow_id ?? "(raw graph)", typeof prompt === "string" ? prompt : undefined);
  const task: TaskView = await client.wait(job, {
    signal,
    ...(deadline === undefined ? {} : { timeoutMs: Math.max(1, deadline - Date.now()) }),
    ...(req.pollIntervalMs === undefined ? {} : { pollIntervalMs: req.pollIntervalMs }),
    onState: (t) => reporter.state(t),
    onProgress: (p) => reporter.progress(p),
    onFallback: (e) => reporter.fallback(e),
  });
  reporter.finished(task);
  const files = task.status === "SUCCESS" ? await client.download(task, req.outDir, { signal }) : [];
  reporter.saved(files);
  return { task, files };
}

/**
 * `--json` (no live display): the submit itself waits for a short job (`Prefer: wait`, up to
 * 60 s or --timeout), then the feed follows a longer one. The Idempotency-Key lets an
 * interrupted wait learn its task id (a replayed submit) so the job can still be cancelled.
 */
async function runWaiting(client: ComfyEdgeClient, req: RunRequest, io: Io, onSubmitted: (taskId: string) => void, deadline: number | undefined): Promise<TaskView> {
  const idempotencyKey = `comfy-gen-${randomUUID()}`;
  const waitS = Math.max(1, Math.min(60, Math.floor((req.timeoutMs ?? 60_000) / 1000)));
  let known = false;
  try {
    return await client.run(req.body, {
      waitS,
      idempotencyKey,
      signal: io.interrupt,
      onSubmitted: (id) => {
        known = true;
        onSubmitted(id);
      },
      ...(deadline === undefined ? {} : { timeoutMs: Math.max(1, deadline - Date.now()) }),
      ...(req.pollIntervalMs === undefined ? {} : { pollIntervalMs: req.pollIntervalMs }),
    });
  } catch (e) {
    if (!known) {
      const replay = await client.submit(req.body, { idempotencyKey, signal: AbortSignal.timeout(CANCEL_GRACE_MS) }).catch(() => null);
      if (replay) onSubmitted(replay.task_id);
    }
    throw e;
  }
}

/**
 * `comfy-gen run`: upload (if --image), submit, follow the events feed with a live bar,
 * download every output. Ctrl-C or --timeout cancels the job before exiting.
 */
export async function runCommand(args: string[], io: Io): Promise<number> {
  const req = parseRunRequest(args, io.env);
  if (req.help) {
    writeLine(io.stdout, RUN_USAGE);
    return 0;
  }
  const client = new ComfyEdgeClient({ url: req.connection.url, apiKey: req.connection.apiKey });
  const reporter = reporterFor(req, io);
  let taskId: string | null = null;
  try {
    const { task, files } = await follow(client, req, io, reporter, (job) => (taskId = job.task_id));
    if (req.json) writeLine(io.stdout, JSON.stringify({ task_id: task.task_id, status: task.status, seed: task.seed, files, task }, null, 2));
    return task.status === "SUCCESS" ? 0 : EXIT_CODES.job_failed;
  } catch (e) {
    reporter.close();
    const err = toCLIError(e);
    if (taskId && (err.code === "interrupted" || err.code === "timeout")) {
      const outcome = await cancelOnExit(client, taskId);
      const why = err.code === "interrupted" ? "Interrupted" : `Timed out after ${formatDuration(req.timeoutMs ?? 0)} (--timeout)`;
      throw new CLIError(`${why}; ${outcome}.`, err.code, { apiCode: err.apiCode });
    }
    throw err;
  }
}

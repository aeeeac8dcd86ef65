import type { TaskEvent, TaskView } from "../../shared/api.ts";
import { ComfyEdgeError, isComfyEdgeError } from "./errors.ts";
import { watchTask, type TaskRef, type WatchDeps, type WatchOptions } from "./watch.ts";

type Progress = NonNullable<TaskView["progress"]>;

export interface WaitOptions extends WatchOptions {
  /** Give up after this long with a `timeout` error (the task itself is left alone). */
  timeoutMs?: number;
  /** Every event, as it arrives. */
  onEvent?: (event: TaskEvent) => void;
  /** Every state the task enters (the first call is its current state). */
  onState?: (task: TaskView) => void;
  /** Every live preview (submitted with `previews: true`): a small base64 image while the job runs. */
  onPreview?: (preview: Extract<TaskEvent, { type: "preview" }>) => void;
  /** Every progress update, from progress events and from the progress of state events. */
  onProgress?: (progress: Progress, taskId: string) => void;
}

/** Follows a task to its terminal state and returns that final view (SUCCESS, FAILURE or CANCELLED). */
export async function waitForTask(deps: WatchDeps, ref: TaskRef, opts: WaitOptions = {}): Promise<TaskView> {
  const id = typeof ref === "string" ? ref : ref.task_id;
  const controller = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  let last: TaskView | null = null;
  try {
    for await (const event of watchTask(deps, ref, { ...opts, signal: controller.signal })) {
      opts.onEvent?.(event);
      if (event.type === "state") {
        last = event.task;
        opts.onState?.(event.task);
        if (event.task.progress) opts.onProgress?.(event.task.progress, id);
      } else if (event.type === "progress") {
        opts.onProgress?.(event.progress, id);
      } else {
        opts.onPreview?.(event);
      }
    }
  } catch (e) {
    if (timedOut && isComfyEdgeError(e) && e.code === "aborted") {
      throw new ComfyEdgeError("timeout", `Task ${id} did not finish within ${opts.timeoutMs} ms (last status: ${last?.status ?? "unknown"}).`);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
  }
  if (!last) throw new ComfyEdgeError("invalid_response", `Watching task ${id} ended without a state.`);
  return last;
}

import { setTimeout as delay } from "node:timers/promises";
import type { TaskEvent, TaskView } from "../../shared/api.ts";
import { ComfyEdgeError, isComfyEdgeError } from "./errors.ts";
import { isTerminal, socketFeed, sseFeed } from "./feed.ts";
import type { FetchLike } from "./http.ts";

/** A task by id, or by the submit response (whose `events_url` lets the WebSocket feed in). */
export type TaskRef = string | { task_id: string; events_url?: string | undefined };

/**
 * How to follow a task. `auto` (the default): the WebSocket feed when an `events_url` is
 * known, else SSE with the API key; `poll` skips the feed. Any feed falls back to polling.
 */
export type Transport = "auto" | "websocket" | "sse" | "poll";

export interface WatchOptions {
  /** @defaultValue "auto" */
  transport?: Transport;
  /** Polling period when the feed is off or has failed. @defaultValue 1000 */
  pollIntervalMs?: number;
  signal?: AbortSignal;
  /** Told why the feed failed, just before polling takes over. */
  onFallback?: (error: ComfyEdgeError) => void;
}

/** What watching needs from the client: its feed endpoints and `GET /tasks/{id}`. */
export interface WatchDeps {
  baseUrl: string;
  fetch: FetchLike;
  authHeaders: Record<string, string>;
  get(taskId: string, signal?: AbortSignal): Promise<TaskView>;
}

export const DEFAULT_POLL_INTERVAL_MS = 1000;

function sameProgress(a: TaskView["progress"], b: TaskView["progress"]): boolean {
  return a?.current === b?.current && a?.total === b?.total && a?.step_name === b?.step_name && a?.percent === b?.percent && a?.phase === b?.phase;
}

function pickFeed(deps: WatchDeps, ref: TaskRef, transport: Transport, signal?: AbortSignal): AsyncGenerator<TaskEvent> | null {
  const id = typeof ref === "string" ? ref : ref.task_id;
  const eventsUrl = typeof ref === "string" ? undefined : ref.events_url;
  const plainUrl = `${deps.baseUrl}/tasks/${encodeURIComponent(id)}/events`;
  if (transport === "poll") return null;
  if (transport === "websocket" || (transport === "auto" && eventsUrl)) {
    if (!eventsUrl) throw new ComfyEdgeError("feed_failed", "The WebSocket feed needs the events_url (with its token) from the submit response.");
    return socketFeed(eventsUrl, signal);
  }
  return sseFeed(eventsUrl ?? plainUrl, deps.fetch, eventsUrl ? {} : deps.authHeaders, signal);
}

/**
 * Every event of a task, from the current state to its terminal state: the live feed first,
 * then `GET /tasks/{id}` polling if the feed fails (polling reports a state event per status
 * change and a progress event per progress change).
 */
export async function* watchTask(deps: WatchDeps, ref: TaskRef, opts: WatchOptions = {}): AsyncGenerator<TaskEvent> {
  const id = typeof ref === "string" ? ref : ref.task_id;
  const signal = opts.signal;
  let last: TaskView | null = null;
  let lastProgress: TaskView["progress"] = null;
  let feed: AsyncGenerator<TaskEvent> | null = null;
  try {
    feed = pickFeed(deps, ref, opts.transport ?? "auto", signal);
  } catch (e) {
    if (!isComfyEdgeError(e)) throw e;
    opts.onFallback?.(e);
  }
  if (feed) {
    try {
      for await (const event of feed) {
        if (event.type === "state") [last, lastProgress] = [event.task, event.task.progress];
        else if (event.type === "progress") lastProgress = event.progress;
        yield event;
        if (last && isTerminal(last.status)) return;
      }
    } catch (e) {
      if (!isComfyEdgeError(e) || e.code === "aborted") throw e;
      // Auth and unknown-task answers will not get better by polling the same server.
      if (e.status === 401 || e.status === 404) throw e;
      opts.onFallback?.(e);
    }
  }
  const interval = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  for (;;) {
    const task = await deps.get(id, signal);
    if (!last || task.status !== last.status) yield { type: "state", task };
    else if (task.progress && !sameProgress(task.progress, lastProgress)) yield { type: "progress", task_id: id, progress: task.progress };
    [last, lastProgress] = [task, task.progress];
    if (isTerminal(task.status)) return;
    try {
      await delay(interval, undefined, signal ? { signal } : {});
    } catch (e) {
      throw new ComfyEdgeError("aborted", "Watching the task was aborted.", { cause: e });
    }
  }
}

import { TaskEventSchema, type TaskEvent, type TaskStatus } from "../../shared/api.ts";
import { ComfyEdgeError, errorFromResponse } from "./errors.ts";
import { networkError, parseWith, type FetchLike } from "./http.ts";
import { readSse } from "./sse.ts";

export const TERMINAL_STATUSES: readonly TaskStatus[] = ["SUCCESS", "FAILURE", "CANCELLED"];

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

function isTerminalEvent(event: TaskEvent): boolean {
  return event.type === "state" && isTerminal(event.task.status);
}

function parseFrame(text: string): TaskEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ComfyEdgeError("invalid_response", `An events frame is not JSON: ${text.slice(0, 120)}`, { cause: e });
  }
  return parseWith(TaskEventSchema, json, "An events frame");
}

function aborted(): ComfyEdgeError {
  return new ComfyEdgeError("aborted", "Watching the task was aborted.");
}

type Inbox = { kind: "frame"; text: string } | { kind: "close"; code: number; reason: string } | { kind: "error"; message: string } | { kind: "abort" };

/**
 * The task's feed over a WebSocket. `url` is the `events_url` from the submit response: its
 * signed `?token=` stands in for the API key, which a WebSocket handshake cannot carry.
 * Yields each event and returns after the terminal state; any other end throws `feed_failed`.
 */
export async function* socketFeed(url: string, signal?: AbortSignal): AsyncGenerator<TaskEvent> {
  if (signal?.aborted) throw aborted();
  const ws = new WebSocket(url.replace(/^http/, "ws"));
  const inbox: Inbox[] = [];
  let wake: (() => void) | undefined;
  const push = (item: Inbox) => {
    inbox.push(item);
    wake?.();
    wake = undefined;
  };
  ws.onmessage = (m) => push({ kind: "frame", text: typeof m.data === "string" ? m.data : String(m.data) });
  ws.onclose = (e) => push({ kind: "close", code: e.code, reason: e.reason });
  // Node 22's WebSocket reports a refused handshake (e.g. 403) with `error` alone: no `close` follows.
  ws.onerror = (e) => push({ kind: "error", message: (e as { message?: string }).message ?? "connection error" });
  const onAbort = () => push({ kind: "abort" });
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      if (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const item = inbox.shift()!;
      if (item.kind === "abort") throw aborted();
      if (item.kind === "error") throw new ComfyEdgeError("feed_failed", `The events WebSocket failed: ${item.message}`);
      if (item.kind === "close") {
        const why = item.code === 1006 ? "the connection failed or was refused" : `code ${item.code}${item.reason ? `, ${item.reason}` : ""}`;
        throw new ComfyEdgeError("feed_failed", `The events WebSocket closed before the task finished (${why}).`);
      }
      const event = parseFrame(item.text);
      yield event;
      if (isTerminalEvent(event)) return;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000, "done");
  }
}

/**
 * The task's feed as Server-Sent Events (`Accept: text/event-stream`), authenticated by the
 * given headers (the API key) or by a signed events URL. Same contract as `socketFeed`.
 */
export async function* sseFeed(url: string, fetchImpl: FetchLike, headers: Record<string, string>, signal?: AbortSignal): AsyncGenerator<TaskEvent> {
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: { ...headers, accept: "text/event-stream" }, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw networkError(e, "Opening the events stream");
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (!res.body || !(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    await res.body?.cancel();
    throw new ComfyEdgeError("feed_failed", `The events URL answered ${res.headers.get("content-type") ?? "no content type"}, not text/event-stream.`);
  }
  try {
    for await (const message of readSse(res.body)) {
      if (message.event !== "state" && message.event !== "progress") continue;
      const event = parseFrame(message.data);
      yield event;
      if (isTerminalEvent(event)) return;
    }
  } catch (e) {
    if (signal?.aborted) throw aborted();
    throw e instanceof ComfyEdgeError ? e : networkError(e, "Reading the events stream");
  }
  if (signal?.aborted) throw aborted();
  throw new ComfyEdgeError("feed_failed", "The events stream ended before the task finished.");
}

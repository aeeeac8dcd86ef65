import type { TaskEvent, TaskView } from "../../shared/api.ts";
import { api, isAuthProblem } from "./api.ts";
import { byId } from "./elements.ts";
import { renderPreview, renderProgress, renderTask, resetRun, setStatus } from "./task-view.ts";

const POLL_MS = 1000;

/** The one task the result panel follows: its events socket, or a polling timer once that fails. */
interface Watch {
  id: string;
  ws: WebSocket | null;
  polling: boolean;
  done: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

let watching: Watch | null = null;

function follow(taskId: string): Watch {
  stopWatching();
  const w: Watch = { id: taskId, ws: null, polling: false, done: false, timer: undefined };
  watching = w;
  return w;
}

function stopWatching(): void {
  const w = watching;
  watching = null;
  if (!w) return;
  w.done = true;
  clearTimeout(w.timer);
  if (w.ws && w.ws.readyState <= WebSocket.OPEN) w.ws.close();
}

/** Shows a task's state on the panel; once it is final, stops following it. */
function apply(w: Watch, task: TaskView): void {
  if (!renderTask(task)) return;
  w.done = true;
  clearTimeout(w.timer);
}

function onEvent(w: Watch, data: unknown): void {
  if (watching !== w || typeof data !== "string") return;
  let ev: TaskEvent;
  try {
    ev = JSON.parse(data) as TaskEvent;
  } catch {
    return;
  }
  if (ev.type === "state") apply(w, ev.task);
  else if (ev.type === "progress") renderProgress(ev.progress);
  else if (ev.type === "preview") renderPreview(ev);
}

function startPolling(w: Watch, note = "Live feed unavailable; checking the task every second instead."): void {
  if (w.polling || w.done) return;
  w.polling = true;
  byId("feed-note").textContent = note;
  const tick = async (): Promise<void> => {
    if (watching !== w || w.done) return;
    const r = await api<TaskView>("GET", `/tasks/${encodeURIComponent(w.id)}`);
    if (watching !== w || w.done) return;
    if (r.ok) apply(w, r.data);
    else if (isAuthProblem(r.status) || r.status === 404) {
      w.done = true;
      byId("task-error").textContent = r.error.message;
      return;
    }
    if (!w.done) w.timer = setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
}

/** Follows a task just submitted on its events feed (the URL carries a signed token: no header needed). */
export function watch(taskId: string, eventsUrl: string, seed: number | null): void {
  const w = follow(taskId);
  resetRun(taskId, seed);
  try {
    const url = new URL(eventsUrl, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    w.ws = new WebSocket(url);
  } catch {
    startPolling(w);
    return;
  }
  w.ws.addEventListener("message", (m) => onEvent(w, m.data));
  w.ws.addEventListener("close", () => {
    if (watching === w && !w.done) startPolling(w);
  });
}

/** Shows a task from the recent list: its current state, then follows it if still running. */
export async function showTask(taskId: string): Promise<void> {
  const r = await api<TaskView>("GET", `/tasks/${encodeURIComponent(taskId)}`);
  if (!r.ok) {
    stopWatching();
    resetRun(taskId, null);
    byId("cancel").hidden = true;
    setStatus("", "Unavailable");
    byId("task-error").textContent = r.error.message;
    return;
  }
  const w = follow(taskId);
  resetRun(taskId, r.data.seed);
  apply(w, r.data);
  if (!w.done) startPolling(w, "Checking the task every second.");
}

export async function cancelJob(): Promise<void> {
  const w = watching;
  if (!w || w.done) return;
  const r = await api<TaskView>("DELETE", `/tasks/${encodeURIComponent(w.id)}`);
  if (r.ok) apply(w, r.data);
  else byId("task-error").textContent = r.error.message;
}

import type { TaskStatus, TaskView } from "../../shared/api.ts";
import { el, isWebUrl } from "./dom.ts";
import { byId } from "./elements.ts";
import { updateRecent } from "./recent.ts";

type Progress = Pick<NonNullable<TaskView["progress"]>, "current" | "total" | "percent" | "step_name">;

const STATUS_TEXT: Record<TaskStatus, string> = { PENDING: "Queued", PROGRESS: "Running", SUCCESS: "Done", FAILURE: "Failed", CANCELLED: "Cancelled" };
const TERMINAL: ReadonlySet<TaskStatus> = new Set(["SUCCESS", "FAILURE", "CANCELLED"]);

export function setStatus(status: TaskStatus | "UPLOADING" | "", text: string): void {
  const s = byId("task-status");
  s.dataset.status = status;
  s.textContent = text;
}

/** Clears the result panel for a task just submitted or opened. */
export function resetRun(taskId: string, seed: number | null): void {
  setStatus("PENDING", "Submitted; waiting for an agent...");
  byId("progress").value = 0;
  byId("progress-text").textContent = "";
  byId("task-id").textContent = taskId;
  byId("seed").textContent = seed === null ? "-" : String(seed);
  byId("task-error").textContent = "";
  byId("feed-note").textContent = "";
  byId("outputs").replaceChildren();
  hidePreview();
  byId("cancel").hidden = false;
}

/** The latest live preview of the running job (the job asked for them); replaced by the result. */
export function renderPreview(p: { content_type: string; data: string }): void {
  if (!/^image\/(png|jpeg|webp)$/.test(p.content_type) || !/^[A-Za-z0-9+/]*={0,2}$/.test(p.data)) return;
  const img = byId("live-preview");
  img.src = `data:${p.content_type};base64,${p.data}`;
  img.hidden = false;
}

function hidePreview(): void {
  const img = byId("live-preview");
  img.hidden = true;
  img.removeAttribute("src");
}

export function renderProgress(p: Progress): void {
  const percent = Math.max(0, Math.min(100, Number(p.percent) || 0));
  // Each node reports its own steps; the bar stays at the furthest point so it never runs backwards.
  const bar = byId("progress");
  if (percent > bar.value) bar.value = percent;
  byId("progress-text").textContent = `${p.step_name ? `${p.step_name}: ` : ""}${p.current} / ${p.total} (${Math.round(percent)}%)`;
}

function showOutputs(task: TaskView): void {
  const box = byId("outputs");
  box.replaceChildren();
  const outputs = task.result?.outputs ?? [];
  outputs.forEach((o, i) => {
    if (!isWebUrl(o.url)) return;
    const fig = el("figure");
    if (o.content_type.startsWith("image/")) fig.append(el("img", { src: o.url, alt: `Output ${i + 1} of task ${task.task_id}`, class: "result-image" }));
    const cap = el("figcaption");
    const link = el("a", { href: o.url, download: o.filename, class: "download" }, `Download ${o.filename}`);
    cap.append(link, ` (${Math.round(o.bytes / 1024)} KiB; link expires ${new Date(o.expires_at).toLocaleString()})`);
    fig.append(cap);
    box.append(fig);
  });
  if (!outputs.length) box.append(el("p", { class: "hint" }, "The task succeeded but produced no files."));
}

/** Shows a task's state; returns true once it is final (then the outputs or the error are shown). */
export function renderTask(task: TaskView): boolean {
  let text = STATUS_TEXT[task.status] ?? task.status;
  if (task.status === "PENDING" && task.queue) {
    text += ` (position ${task.queue.position}${task.queue.waiting_for ? `, waiting for ${task.queue.waiting_for}` : ""})`;
  }
  setStatus(task.status, text);
  if (task.seed !== null) byId("seed").textContent = String(task.seed);
  if (task.progress) renderProgress(task.progress);
  updateRecent(task.task_id, { status: task.status, seed: task.seed });
  if (!TERMINAL.has(task.status)) return false;
  byId("cancel").hidden = true;
  hidePreview();
  if (task.status === "SUCCESS") {
    byId("progress").value = 100;
    // A finished task ran every step, whatever the last progress frame said (some end at 0 / 1).
    const total = task.progress?.total ?? 1;
    renderProgress({ current: total, total, percent: 100, step_name: task.progress?.step_name ?? null });
    showOutputs(task);
  } else if (task.error) {
    byId("task-error").textContent = task.error.message + (task.error.node_type ? ` (node ${task.error.node_type})` : "");
  }
  return true;
}

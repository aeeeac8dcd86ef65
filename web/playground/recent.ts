import type { TaskStatus } from "../../shared/api.ts";
import { el } from "./dom.ts";
import { byId } from "./elements.ts";
import { readStore, STORE, writeStore } from "./store.ts";

/** One job this browser submitted, as kept in localStorage. */
export interface RecentJob {
  task_id: string;
  workflow_id: string;
  status: TaskStatus;
  seed: number | null;
  prompt: string;
  created_at: string;
}

const RECENT_MAX = 20;
let onShow: (taskId: string) => void = () => undefined;

const isRecentJob = (j: unknown): j is RecentJob => typeof j === "object" && j !== null && typeof (j as { task_id?: unknown }).task_id === "string";

/** Newest first, at most RECENT_MAX; entries an older page version stored oddly are skipped. */
export function recentJobs(): RecentJob[] {
  const list = readStore(STORE.recent);
  return Array.isArray(list) ? list.filter(isRecentJob) : [];
}

export function rememberJob(entry: RecentJob): void {
  const list = recentJobs().filter((j) => j.task_id !== entry.task_id);
  list.unshift(entry);
  writeStore(STORE.recent, list.slice(0, RECENT_MAX));
  renderRecent();
}

/**
 * Jobs the edge lists for this key, merged in: the edge's status wins, the prompt typed here
 * stays; jobs older than the last "Clear" are left out. Newest first, at most RECENT_MAX.
 */
export function mergeRecent(listed: Omit<RecentJob, "prompt">[]): void {
  const clearedAt = readStore(STORE.recentCleared);
  const known = new Map(recentJobs().map((j) => [j.task_id, j]));
  for (const job of listed) {
    if (typeof clearedAt === "string" && job.created_at <= clearedAt && !known.has(job.task_id)) continue;
    known.set(job.task_id, { prompt: known.get(job.task_id)?.prompt ?? "", ...job });
  }
  const merged = [...known.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  writeStore(STORE.recent, merged.slice(0, RECENT_MAX));
  renderRecent();
}

export function updateRecent(taskId: string, changes: Pick<RecentJob, "status" | "seed">): void {
  const list = recentJobs();
  const job = list.find((j) => j.task_id === taskId);
  if (!job || (job.status === changes.status && job.seed === changes.seed)) return;
  Object.assign(job, changes);
  writeStore(STORE.recent, list);
  renderRecent();
}

function entry(j: RecentJob): HTMLLIElement {
  const status = j.status || "PENDING";
  const li = el("li", { "data-task-id": j.task_id, "data-status": j.status || "" });
  li.append(el("code", {}, j.task_id));
  li.append(el("span", { class: "status", "data-status": j.status || "" }, status));
  const when = j.created_at ? new Date(j.created_at).toLocaleString() : "";
  li.append(el("span", { class: "what", title: j.prompt || "" }, [j.workflow_id, when, j.prompt].filter(Boolean).join(" · ")));
  const open = el("button", { type: "button", "aria-label": `Show task ${j.task_id}` }, "Show");
  open.addEventListener("click", () => onShow(j.task_id));
  li.append(open);
  return li;
}

export function renderRecent(): void {
  byId("recent").replaceChildren(...recentJobs().map(entry));
}

/** The recent-jobs list; `show` opens one of them in the result panel. */
export function setupRecent(show: (taskId: string) => void): void {
  onShow = show;
  byId("clear-recent").addEventListener("click", () => {
    writeStore(STORE.recent, null);
    writeStore(STORE.recentCleared, new Date().toISOString());
    renderRecent();
  });
  renderRecent();
}

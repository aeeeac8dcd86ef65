import Table from "cli-table3";
import type { TaskView } from "../../../shared/api.ts";
import { progressDetail } from "./reporter.ts";
import { formatDuration, statusText, type Colors } from "./theme.ts";

// Colour codes take no columns on screen.
const visibleLength = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;

/** A titled box of label/value rows (the rich client's task panel), wrapped to the terminal's width. */
export function panel(title: string, rows: [string, string][], c: Colors, columns = 100): string {
  const labelWidth = Math.max(...rows.map(([label]) => label.length)) + 3;
  const longest = Math.max(title.length, ...rows.map(([, value]) => visibleLength(value)));
  const valueWidth = Math.max(20, Math.min(longest + 2, columns - labelWidth - 3));
  const table = new Table({
    style: { head: [], border: [], "padding-left": 1, "padding-right": 1, compact: true },
    colWidths: [labelWidth, valueWidth],
    wordWrap: true,
  });
  table.push([{ colSpan: 2, content: c.bold(title) }]);
  for (const [label, value] of rows) table.push([c.dim(label), value]);
  return table.toString();
}

/** Plain `label: value` lines for pipes and logs. */
export function plainRows(rows: [string, string][]): string {
  return rows.map(([label, value]) => `${label}: ${value}`).join("\n");
}

/** The rows that describe a task: status, progress, timings, error, outputs. */
export function taskRows(task: TaskView, c: Colors): [string, string][] {
  const rows: [string, string][] = [
    ["Task", task.task_id],
    ["Status", statusText(task.status, c)],
    ["Workflow", task.workflow_id ?? "(raw graph)"],
    ["Seed", task.seed === null ? "-" : String(task.seed)],
  ];
  if (task.queue) rows.push(["Queue", `position ${task.queue.position}${task.queue.waiting_for ? ` (waiting for ${task.queue.waiting_for})` : ""}`]);
  if (task.progress) rows.push(["Progress", `${Math.round(task.progress.percent)}% (${progressDetail(task.progress)})`]);
  rows.push(["Attempts", `${task.attempts}/${task.max_attempts}`]);
  rows.push(["Created", task.created_at]);
  if (task.finished_at) rows.push(["Finished", task.finished_at]);
  if (task.timings.queued_ms !== null || task.timings.run_ms !== null) {
    rows.push(["Timings", `queued ${formatDuration(task.timings.queued_ms)}, ran ${formatDuration(task.timings.run_ms)}`]);
  }
  if (task.error) rows.push(["Error", `${task.error.code}: ${task.error.message}${task.error.node_type ? ` (node ${task.error.node_id ?? "?"} ${task.error.node_type})` : ""}`]);
  for (const [i, o] of (task.result?.outputs ?? []).entries()) rows.push([i === 0 ? "Outputs" : "", `${o.filename} (${o.content_type}, ${o.bytes} bytes)`]);
  return rows;
}

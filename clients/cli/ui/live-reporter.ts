import cliProgress from "cli-progress";
import type { TaskView } from "../../../shared/api.ts";
import { columnsOf, writeLine, type Io } from "../io.ts";
import { panel } from "./panel.ts";
import { progressDetail, type RunReporter } from "./reporter.ts";
import { formatDuration, statusText, type Colors } from "./theme.ts";

/** 3_000 → "0:03", 85_000 → "1:25": steady-width times for a line that redraws. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The bar line: bar, the job's percent, what runs (step x/y), status, elapsed, ETA (cli-progress's ETA, when it has one). */
function barLine(c: Colors): cliProgress.GenericFormatter {
  return (options, params, payload: { status?: string; detail?: string }) => {
    const bar = cliProgress.Format.BarFormat(params.progress, options);
    const eta = Number(params.eta);
    const etaText = params.value < params.total && params.value > 0 && Number.isFinite(eta) && eta > 0 ? clock(eta * 1000) : "-:--";
    const percent = `${Math.round(params.progress * 100)}%`.padStart(4);
    return `${c.cyan(bar)} ${percent} | ${payload.detail || "-"} | ${payload.status ?? ""} | elapsed ${clock(Date.now() - params.startTime)} | ETA ${etaText}`;
  };
}

function statusLabel(task: TaskView, c: Colors): string {
  if (task.status === "PENDING" && task.queue) return `${statusText(task.status, c)} #${task.queue.position}`;
  return statusText(task.status, c);
}

/**
 * The terminal view: a task panel, then one live bar (the job's percent, step x/y, elapsed, ETA) that
 * redraws in place, then the outcome and the saved files.
 */
export function liveReporter(io: Io, c: Colors): RunReporter {
  const bar = new cliProgress.SingleBar({
    format: barLine(c),
    stream: io.stdout,
    barsize: 28,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    etaBuffer: 8,
    fps: 10,
    barCompleteChar: "\u2588",
    barIncompleteChar: "\u2591",
  });
  let running = false;
  let startedAt = Date.now();
  const deferred: string[] = [];
  const out = (text: string) => writeLine(io.stdout, text);
  return {
    note: (text) => (running ? deferred.push(text) : out(c.dim(text))),
    submitted(job, workflowId, prompt) {
      const rows: [string, string][] = [
        ["Task", c.bold(job.task_id)],
        ["Workflow", workflowId],
        ["Seed", job.seed === null ? "-" : String(job.seed)],
      ];
      if (prompt !== undefined) rows.push(["Prompt", prompt]);
      rows.push(["Status", job.status_url]);
      out(panel("comfy-gen", rows, c, columnsOf(io)));
      startedAt = Date.now();
      bar.start(100, 0, { status: statusText("PENDING", c), detail: "" });
      running = true;
    },
    state(task) {
      if (!running) return;
      if (task.progress) bar.update(task.progress.percent, { status: statusLabel(task, c), detail: progressDetail(task.progress) });
      else bar.update({ status: statusLabel(task, c) });
    },
    progress(p) {
      if (!running) return;
      bar.update(p.percent, { status: statusText("PROGRESS", c), detail: progressDetail(p) });
    },
    fallback: (e) => deferred.push(`note: events feed unavailable (${e.message}); polled instead`),
    finished(task) {
      if (running) {
        if (task.status === "SUCCESS") bar.update(100, { status: statusText(task.status, c), detail: "done" });
        else bar.update({ status: statusText(task.status, c) });
        bar.stop();
        running = false;
      }
      for (const line of deferred.splice(0)) out(c.dim(line));
      const elapsed = formatDuration(Date.now() - startedAt);
      if (task.status === "SUCCESS") out(`${c.green("\u2714")} ${statusText(task.status, c)} in ${elapsed}`);
      else out(`${c.red("\u2716")} ${statusText(task.status, c)}${task.error ? `: ${c.bold(task.error.code)}: ${task.error.message}` : ""}`);
    },
    close() {
      if (running) bar.stop();
      running = false;
      for (const line of deferred.splice(0)) out(c.dim(line));
    },
    saved(paths) {
      for (const p of paths) out(`${c.green("saved")} ${p}`);
    },
  };
}

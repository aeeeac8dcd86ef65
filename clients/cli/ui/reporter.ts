import type { SubmitResponse, TaskView } from "../../../shared/api.ts";
import type { ComfyEdgeError } from "../../sdk/errors.ts";
import { writeLine, type Io } from "../io.ts";
import { formatDuration, statusText, type Colors } from "./theme.ts";

export type Progress = NonNullable<TaskView["progress"]>;

/** What `comfy-gen run` tells the user as a job moves; one implementation per kind of output. */
export interface RunReporter {
  note(text: string): void;
  submitted(job: SubmitResponse, workflowId: string, prompt: string | undefined): void;
  state(task: TaskView): void;
  progress(progress: Progress): void;
  fallback(error: ComfyEdgeError): void;
  finished(task: TaskView): void;
  saved(paths: string[]): void;
  /** Ends any live display (the job was interrupted or an error cut it short). */
  close(): void;
}

/** One plain line per event, for pipes, logs and CI (no colour unless forced, no cursor tricks). */
export function plainReporter(io: Io, c: Colors): RunReporter {
  let lastStatus = "";
  let lastStep = "";
  const started = Date.now();
  const out = (text: string) => writeLine(io.stdout, text);
  return {
    note: (text) => out(text),
    submitted: (job, workflowId) => out(`submitted ${job.task_id} workflow=${workflowId} seed=${job.seed ?? "-"}`),
    state(task) {
      if (task.status === lastStatus) return;
      lastStatus = task.status;
      out(`status ${statusText(task.status, c)}${task.queue ? ` (queue position ${task.queue.position})` : ""}`);
    },
    progress(p) {
      const line = `progress ${Math.round(p.percent)}% ${progressDetail(p)}`.trimEnd();
      if (line === lastStep) return;
      lastStep = line;
      out(line);
    },
    fallback: (e) => writeLine(io.stderr, `note: events feed unavailable (${e.message}); polling instead`),
    finished(task) {
      const elapsed = formatDuration(Date.now() - started);
      if (task.status === "SUCCESS") out(`finished ${statusText(task.status, c)} in ${elapsed}`);
      else out(`finished ${statusText(task.status, c)}${task.error ? `: ${task.error.code}: ${task.error.message}` : ""}`);
    },
    saved: (paths) => paths.forEach((p) => out(`saved ${p}`)),
    close: () => undefined,
  };
}

/** What the percent is made of now: "KSampler 12/20", "uploading 1/3", "done". */
export function progressDetail(p: Progress): string {
  if (p.phase === "done") return "done";
  if (p.phase === "uploading") return `uploading ${p.current}/${p.total}`;
  if (p.phase === "queued") return "queued in ComfyUI";
  const count = p.unit === "steps" ? `step ${p.current}/${p.total}` : p.unit === "nodes" ? `node ${p.current}/${p.total}` : `${p.current}/${p.total}`;
  return `${p.step_name ? `${p.step_name} ` : ""}${count}`;
}

/** Says nothing: `--json` prints one object at the end instead. */
export const silentReporter: RunReporter = {
  note: () => undefined,
  submitted: () => undefined,
  state: () => undefined,
  progress: () => undefined,
  fallback: () => undefined,
  finished: () => undefined,
  saved: () => undefined,
  close: () => undefined,
};

import { parseArgs } from "node:util";
import Table from "cli-table3";
import type { JobListQuery, TaskView } from "../../../shared/api.ts";
import { ComfyEdgeClient } from "../../sdk/client.ts";
import { CONNECTION_OPTIONS, connectionFrom } from "../args.ts";
import { isRich, writeLine, type Io } from "../io.ts";
import { colorsFor, formatDuration, statusText, type Colors } from "../ui/theme.ts";
import { JOBS_USAGE } from "../usage.ts";

function jobTable(jobs: TaskView[], c: Colors): string {
  const table = new Table({ head: ["Task", "Status", "Workflow", "Created", "Run", "Error"].map((h) => c.bold(h)), style: { head: [], border: [] } });
  for (const j of jobs) {
    table.push([j.task_id, statusText(j.status, c), j.workflow_id ?? "(raw graph)", j.created_at.replace("T", " ").slice(0, 19), formatDuration(j.timings.run_ms), j.error?.code ?? ""]);
  }
  return table.toString();
}

/** `comfy-gen jobs`: the key's jobs as a table (plain lines when piped, or JSON). */
export async function jobsCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...CONNECTION_OPTIONS, status: { type: "string" }, workflow: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" } },
    strict: true,
  });
  if (values.help) {
    writeLine(io.stdout, JOBS_USAGE);
    return 0;
  }
  const query: JobListQuery = {
    ...(values.status ? { status: values.status.toUpperCase() } : {}),
    ...(values.workflow ? { workflow_id: values.workflow } : {}),
    ...(values.limit ? { limit: values.limit } : {}),
    ...(values.cursor ? { cursor: values.cursor } : {}),
  };
  const client = new ComfyEdgeClient(connectionFrom(values, io.env));
  const page = await client.listJobs(query, { signal: io.interrupt });
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(page, null, 2));
    return 0;
  }
  const c = colorsFor(io);
  if (isRich(io)) writeLine(io.stdout, page.jobs.length ? jobTable(page.jobs, c) : c.dim("no jobs"));
  else for (const j of page.jobs) writeLine(io.stdout, `${j.task_id}\t${j.status}\t${j.workflow_id ?? "-"}\t${j.created_at}\t${j.error?.code ?? "-"}`);
  if (page.next_cursor) writeLine(io.stdout, `more: comfy-gen jobs --cursor ${page.next_cursor}${values.limit ? ` --limit ${values.limit}` : ""}`);
  return 0;
}

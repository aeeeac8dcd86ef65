import { parseArgs } from "node:util";
import { ComfyEdgeClient } from "../../sdk/client.ts";
import { CONNECTION_OPTIONS, connectionFrom, onePositional } from "../args.ts";
import { columnsOf, isRich, writeLine, type Io } from "../io.ts";
import { panel, plainRows, taskRows } from "../ui/panel.ts";
import { colorsFor } from "../ui/theme.ts";
import { STATUS_USAGE } from "../usage.ts";

/** `comfy-gen status <task_id>`: one task as a panel (or JSON). */
export async function statusCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CONNECTION_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    writeLine(io.stdout, STATUS_USAGE);
    return 0;
  }
  const id = onePositional(positionals, "task_id", "status");
  const client = new ComfyEdgeClient(connectionFrom(values, io.env));
  const task = await client.get(id, { signal: io.interrupt });
  if (values.json) writeLine(io.stdout, JSON.stringify(task, null, 2));
  else {
    const c = colorsFor(io);
    const rows = taskRows(task, c);
    writeLine(io.stdout, isRich(io) ? panel("Task", rows, c, columnsOf(io)) : plainRows(rows));
    for (const o of task.result?.outputs ?? []) writeLine(io.stdout, `url: ${o.url}`);
  }
  return 0;
}

import { parseArgs } from "node:util";
import { ComfyEdgeClient } from "../../sdk/client.ts";
import { CONNECTION_OPTIONS, connectionFrom, onePositional } from "../args.ts";
import { writeLine, type Io } from "../io.ts";
import { colorsFor, statusText } from "../ui/theme.ts";
import { CANCEL_USAGE } from "../usage.ts";

/** `comfy-gen cancel <task_id>`: cancels a queued or running task. */
export async function cancelCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CONNECTION_OPTIONS, allowPositionals: true, strict: true });
  if (values.help) {
    writeLine(io.stdout, CANCEL_USAGE);
    return 0;
  }
  const id = onePositional(positionals, "task_id", "cancel");
  const client = new ComfyEdgeClient(connectionFrom(values, io.env));
  const task = await client.cancel(id, { signal: io.interrupt });
  if (values.json) writeLine(io.stdout, JSON.stringify(task, null, 2));
  else writeLine(io.stdout, `${task.task_id} ${statusText(task.status, colorsFor(io))}`);
  return 0;
}

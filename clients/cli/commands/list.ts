import { parseArgs } from "node:util";
import { ComfyEdgeClient } from "../../sdk/client.ts";
import { CONNECTION_OPTIONS, connectionFrom } from "../args.ts";
import { columnsOf, isRich, writeLine, type Io } from "../io.ts";
import { loraTable, triggerWords, workflowTable } from "../ui/catalog-tables.ts";
import { colorsFor } from "../ui/theme.ts";
import { LIST_USAGE } from "../usage.ts";

/** `comfy-gen list`: the workflows and LoRAs the server offers. */
export async function listCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: CONNECTION_OPTIONS, strict: true });
  if (values.help) {
    writeLine(io.stdout, LIST_USAGE);
    return 0;
  }
  const client = new ComfyEdgeClient(connectionFrom(values, io.env));
  const [workflows, loras] = await Promise.all([client.listWorkflows({ signal: io.interrupt }), client.listLoras({ signal: io.interrupt })]);
  if (values.json) {
    writeLine(io.stdout, JSON.stringify({ workflows, loras }, null, 2));
    return 0;
  }
  if (!isRich(io)) {
    for (const w of workflows) writeLine(io.stdout, `workflow ${w.id}\trequired=${w.required.join(",") || "-"}\tagents=${w.agents_ready}\t${w.description}`);
    for (const l of loras) writeLine(io.stdout, `lora ${l.name}\ttrigger=${triggerWords(l)}\t${l.description}`);
    return 0;
  }
  const c = colorsFor(io);
  const columns = columnsOf(io);
  writeLine(io.stdout, workflowTable(workflows, c, columns));
  writeLine(io.stdout, loraTable(loras, c, columns));
  return 0;
}

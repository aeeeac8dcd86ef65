import { parseArgs } from "node:util";
import { OutputFormatSchema } from "../../../shared/api.ts";
import type { SubmitInput } from "../../sdk/client.ts";
import { CONNECTION_OPTIONS, connectionFrom, parseInteger, parseSeconds, parseSets, type Connection } from "../args.ts";
import { CLIError } from "../cli-error.ts";
import { readGraphFile } from "./graph-file.ts";

export const RUN_OPTIONS = {
  ...CONNECTION_OPTIONS,
  workflow: { type: "string", default: "flux_default" },
  prompt: { type: "string" },
  set: { type: "string", multiple: true },
  lora: { type: "string" },
  seed: { type: "string" },
  image: { type: "string" },
  "image-param": { type: "string", default: "input_image" },
  format: { type: "string" },
  quality: { type: "string" },
  priority: { type: "string" },
  out: { type: "string", default: "." },
  timeout: { type: "string" },
  "poll-interval": { type: "string" },
  graph: { type: "string" },
} as const;

/** Flags that shape a workflow's job; a raw graph carries all of that in its nodes. */
const WORKFLOW_FLAGS = ["workflow", "prompt", "set", "lora", "seed", "image", "image-param"];

/** Everything `comfy-gen run` was asked to do, checked before a request leaves. */
export interface RunRequest {
  connection: Connection;
  body: SubmitInput & { params: Record<string, unknown> };
  image: { path: string; param: string } | null;
  outDir: string;
  json: boolean;
  timeoutMs: number | undefined;
  pollIntervalMs: number | undefined;
  help: boolean;
}

/** Reads `run`'s flags into a job body: `--set` first, then the named flags on top. */
export function parseRunRequest(args: string[], env: NodeJS.ProcessEnv): RunRequest {
  const { values, positionals } = parseArgs({ args, options: RUN_OPTIONS, allowPositionals: true, strict: true });
  const base = { json: values.json, help: values.help, outDir: values.out, image: null, timeoutMs: undefined, pollIntervalMs: undefined };
  if (values.help) return { ...base, connection: { url: "", apiKey: "" }, body: { workflow_id: values.workflow, params: {} } };
  if (positionals.length) throw new CLIError(`Unexpected argument "${positionals[0]}": quote the prompt and pass it as --prompt "...".`, "usage");
  if (values.graph !== undefined) {
    const clash = WORKFLOW_FLAGS.find((f) => args.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
    if (clash) throw new CLIError(`--${clash} goes with a workflow; --graph runs the graph as it is (set prompts, seeds and files inside the graph).`, "usage");
  }
  const params = parseSets(values.set ?? []);
  if (values.prompt !== undefined) params.prompt = values.prompt;
  if (values.lora !== undefined) params.lora = values.lora;
  if (values.seed !== undefined) params.seed = values.seed === "random" ? "random" : parseInteger("seed", values.seed, 0, Number.MAX_SAFE_INTEGER);
  // params stays {} with a graph: the edge reads an empty one as none.
  const body: RunRequest["body"] = values.graph !== undefined ? { graph: readGraphFile(values.graph), params } : { workflow_id: values.workflow, params };
  if (values.format !== undefined) {
    const format = OutputFormatSchema.safeParse(values.format);
    if (!format.success) throw new CLIError(`--format must be one of ${OutputFormatSchema.options.join(", ")} (got "${values.format}").`, "usage");
    body.output_format = format.data;
  }
  if (values.quality !== undefined) body.quality = parseInteger("quality", values.quality, 1, 100);
  if (values.priority !== undefined) body.priority = parseInteger("priority", values.priority, -100, 100);
  return {
    ...base,
    connection: connectionFrom(values, env),
    body,
    image: values.image === undefined ? null : { path: values.image, param: values["image-param"] },
    timeoutMs: values.timeout === undefined ? undefined : parseSeconds("timeout", values.timeout),
    pollIntervalMs: values["poll-interval"] === undefined ? undefined : parseSeconds("poll-interval", values["poll-interval"]),
  };
}

import type { FieldError } from "../../shared/errors.ts";
import { CLIError, toCLIError } from "./cli-error.ts";
import { writeLine, type Io } from "./io.ts";
import { colorsFor } from "./ui/theme.ts";
import { MAIN_USAGE } from "./usage.ts";

export const VERSION = "0.1.0";

type Command = (args: string[], io: Io) => Promise<number>;

// Loaded on use: `status` need not pay for the progress bar, nor `--help` for zod.
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./commands/run.ts")).runCommand,
  list: async () => (await import("./commands/list.ts")).listCommand,
  status: async () => (await import("./commands/status.ts")).statusCommand,
  jobs: async () => (await import("./commands/jobs.ts")).jobsCommand,
  cancel: async () => (await import("./commands/cancel.ts")).cancelCommand,
};

function detailLines(details: FieldError[]): string[] {
  const pathWidth = Math.max(...details.map((d) => d.path.length));
  const ruleWidth = Math.max(...details.map((d) => d.rule.length));
  return details.map((d) => `  ${d.path.padEnd(pathWidth)}  ${d.rule.padEnd(ruleWidth)}  ${d.message}`);
}

/** Shows an error: the message (and the server's code), then each field error on its own line. */
function report(err: CLIError, io: Io, json: boolean): void {
  if (json) {
    const error = { code: err.apiCode ?? err.code, message: err.message, ...(err.details.length ? { details: err.details } : {}), exit_code: err.exitCode };
    writeLine(io.stdout, JSON.stringify({ error }, null, 2));
    return;
  }
  const c = colorsFor({ ...io, stdout: io.stderr });
  writeLine(io.stderr, `${c.red(c.bold("error"))}: ${err.message}${err.apiCode ? c.dim(` (${err.apiCode})`) : ""}`);
  for (const line of err.details.length ? detailLines(err.details) : []) writeLine(io.stderr, line);
}

/** Runs one `comfy-gen` invocation and returns its exit code; every failure becomes a CLIError here. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    writeLine(io.stdout, MAIN_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    writeLine(io.stdout, VERSION);
    return 0;
  }
  const load = COMMANDS[command];
  try {
    if (!load) throw new CLIError(`Unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(", ")}.`, "usage");
    return await (await load())(rest, io);
  } catch (e) {
    const err = toCLIError(e);
    report(err, io, rest.includes("--json"));
    return err.exitCode;
  }
}

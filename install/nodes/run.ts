import { spawn } from "node:child_process";

export type RunResult = { code: number; stdout: string; output: string };

const TAIL = 16_000;

/**
 * Runs a command without a shell; never throws. `stdout` is kept whole (git answers are small),
 * `output` keeps the tail of stdout+stderr together, for failure messages.
 */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-TAIL);
    };
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdout.length < 1_000_000) stdout += chunk.toString();
      keep(chunk);
    });
    child.stderr.on("data", keep);
    child.once("error", (error) => resolve({ code: 127, stdout, output: `${output}${error.message}` }));
    child.once("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, output }));
  });
}

/** The last meaningful lines of a command's output, for a one-line outcome. */
export function lastLines(output: string, count = 3): string {
  return output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(-count)
    .join(" | ");
}

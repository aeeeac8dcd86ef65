import { parseArgs } from "node:util";

/** Reads `--name value` numeric flags; anything else is a usage error naming the flag. */
export function numericFlags<K extends string>(argv: string[], names: readonly K[], usage: string): Partial<Record<K, number>> {
  const options = Object.fromEntries(names.map((n) => [n, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
  if (values.help) throw new UsageError(usage, 0);
  const out: Partial<Record<K, number>> = {};
  for (const n of names) {
    const v = values[n];
    if (typeof v !== "string") continue;
    const num = Number(v);
    if (v.trim() === "" || !Number.isFinite(num) || num < 0) throw new UsageError(`--${n} must be a non-negative number, got "${v}"\n\n${usage}`);
    out[n] = num;
  }
  return out;
}

export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs a command's `main` and exits with its code: a UsageError prints its message (help to
 * stdout, a mistake to stderr) and exits with its code; anything else prints `<name>: <stack>`
 * and exits 2.
 */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError) {
        (e.exitCode === 0 ? process.stdout : process.stderr).write(`${e.message}\n`);
        process.exit(e.exitCode);
      }
      process.stderr.write(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(2);
    },
  );
}

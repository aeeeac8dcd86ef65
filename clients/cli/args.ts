import { CLIError } from "./cli-error.ts";

/** What every command talking to the edge accepts. */
export const CONNECTION_OPTIONS = {
  url: { type: "string" },
  key: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export interface Connection {
  url: string;
  apiKey: string;
}

/** `--url`/`--key`, else `COMFY_EDGE_URL`/`COMFY_EDGE_API_KEY`. */
export function connectionFrom(values: { url?: string | undefined; key?: string | undefined }, env: NodeJS.ProcessEnv): Connection {
  const url = values.url ?? env.COMFY_EDGE_URL;
  const apiKey = values.key ?? env.COMFY_EDGE_API_KEY;
  if (!url) throw new CLIError("No server URL: pass --url or set COMFY_EDGE_URL (e.g. http://127.0.0.1:8787).", "usage");
  if (!/^https?:\/\/[^/]+/.test(url)) throw new CLIError(`--url "${url}" must start with http:// or https://.`, "usage");
  if (!apiKey) throw new CLIError("No API key: pass --key or set COMFY_EDGE_API_KEY.", "auth");
  return { url, apiKey };
}

/** A `--set` value: JSON when it parses (numbers, true/false, null, quoted strings), else the text itself. */
export function parseSetValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `--set k=v` pairs into params; the first `=` splits, so values may contain `=`. */
export function parseSets(pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CLIError(`--set "${pair}" must look like name=value (e.g. --set steps=4).`, "usage");
    params[pair.slice(0, eq).trim()] = parseSetValue(pair.slice(eq + 1));
  }
  return params;
}

/** An integer flag within bounds, or a usage error naming the flag. */
export function parseInteger(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new CLIError(`--${flag} must be a whole number from ${min} to ${max} (got "${text}").`, "usage");
  }
  return n;
}

/** A positive number of seconds (fractions allowed) as milliseconds. */
export function parseSeconds(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new CLIError(`--${flag} must be a positive number of seconds (got "${text}").`, "usage");
  return Math.round(n * 1000);
}

/** The one positional a command like `status <task_id>` needs. */
export function onePositional(positionals: string[], what: string, command: string): string {
  if (positionals.length !== 1) throw new CLIError(`Usage: comfy-gen ${command} <${what}>`, "usage");
  return positionals[0]!;
}

/**
 * What the local runner takes from wrangler.toml: the compatibility date and flags and the
 * `[vars]`, read with a real TOML parser; and the environment overrides `npm start` applies.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { z } from "zod";

export interface WranglerConfig {
  compat: { date: string; flags: string[] };
  /** `[vars]` as the Worker sees them: strings (wrangler passes numbers and booleans as their text). */
  vars: Record<string, string>;
}

const VarValueSchema = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const WranglerTomlSchema = z.object({
  compatibility_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date, YYYY-MM-DD"),
  compatibility_flags: z.array(z.string()).default([]),
  vars: z.record(z.string(), VarValueSchema).default({}),
});

/** Reads and checks a wrangler.toml; a syntax or shape mistake throws naming the file and the key. */
export function readWranglerConfig(path: string): WranglerConfig {
  let toml: unknown;
  try {
    toml = parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = WranglerTomlSchema.safeParse(toml);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`${path}: ${problems}`);
  }
  return { compat: { date: parsed.data.compatibility_date, flags: parsed.data.compatibility_flags }, vars: parsed.data.vars };
}

export const wranglerTomlPath = (root: string): string => join(root, "wrangler.toml");

/**
 * The environment's values for the named vars (an empty value counts: `WEBHOOK_ALLOW_HOSTS=`
 * clears the list). `npm start` passes every `[vars]` name, so each one can be overridden.
 */
export function envOverrides(names: Iterable<string>, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

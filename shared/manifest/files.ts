import { parseDocument } from "yaml";
import type { z } from "zod";
import { formatKey, ManifestError } from "./manifest-error.ts";

/** Relative path -> file text: "base.yaml", "workflows.yaml", "loras.yaml", "workflows/flux_default.json", ... */
export type ManifestFiles = Record<string, string>;

/** Parses a YAML file; syntax errors name the line. An empty file reads as `null`. */
export function readYaml(files: ManifestFiles, file: string): unknown {
  const text = files[file];
  if (text === undefined) throw new ManifestError(file, "(file)", "file is missing");
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line;
    const reason = (error.message.split("\n")[0] ?? error.message).replace(/:$/, "");
    throw new ManifestError(file, line === undefined ? "(yaml)" : `line ${line}`, reason);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ManifestError(file, "(yaml)", e instanceof Error ? e.message : String(e));
  }
}

/** Parses a JSON file. */
export function readJson(files: ManifestFiles, file: string, missingKey: string, missingFile: string): unknown {
  const text = files[file];
  if (text === undefined) throw new ManifestError(missingFile, missingKey, `${file} does not exist`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ManifestError(file, "(json)", e instanceof Error ? e.message : String(e));
  }
}

/** A top-level mapping (or nothing, read as empty); anything else is a mistake. */
export function asMapping(value: unknown, file: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ManifestError(file, "(root)", "must be a mapping of names to entries");
  }
  return value as Record<string, unknown>;
}

/** Parses with a zod schema; the first problem becomes a ManifestError at `path` inside `file`. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, file: string, path: PropertyKey[]): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ManifestError(file, formatKey(path), "is invalid");
  const where = [...path, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(", ");
    throw new ManifestError(file, formatKey(where), `unknown key ${keys}`);
  }
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  throw new ManifestError(file, formatKey(where), missing ? "is required" : issue.message);
}

import type { JobError } from "../../shared/protocol.ts";

/** The most an agent-reported error's `details` may take once serialised. */
export const MAX_ERROR_DETAILS_BYTES = 16 * 1024;

/**
 * An agent's error as the queue stores it: `details` (ComfyUI's traceback, inputs, ...) over
 * 16 KiB are cut to a preview that says so, so one rig cannot bloat every row and view.
 */
export function boundError(error: JobError): JobError {
  if (error.details === undefined) return error;
  const text = JSON.stringify(error.details) ?? "null";
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= MAX_ERROR_DETAILS_BYTES) return error;
  const preview = new TextDecoder().decode(bytes.slice(0, MAX_ERROR_DETAILS_BYTES - 256)).replace(/\uFFFD$/, "");
  return { ...error, details: { truncated: true, original_bytes: bytes.byteLength, preview } };
}

// Absolute paths of the rig: POSIX (/home/u/ComfyUI/...), home-relative (~/...), Windows drive
// (C:\... or C:/...) and UNC (\\host\share\...). The file's own name stays: it is often the
// useful part ("x.safetensors"); the folders say how the rig is laid out and whose it is.
// A leading character class keeps URLs (http://host/a/b) and relative paths (models/x) intact.
const SEG = String.raw`[^\s'"\`<>|,;:()\[\]{}\\/]+`;
const POSIX = new RegExp(String.raw`(?<![\w.:/~\\-])\/(?:${SEG}\/)+(${SEG})?`, "g");
const HOME = new RegExp(String.raw`(?<![\w.:/~\\-])~\/(?:${SEG}\/)*(${SEG})?`, "g");
const WINDOWS = new RegExp(String.raw`(?<![\w])[A-Za-z]:[\\/](?:${SEG}[\\/])*(${SEG})?`, "g");
const UNC = new RegExp(String.raw`\\\\(?:${SEG}\\)+(${SEG})?`, "g");

/** Replaces a rig's absolute file paths in `text` with `…/<file name>`. */
export function redactPaths(text: string): string {
  const keepName = (_m: string, name: string | undefined) => `…/${name ?? ""}`;
  return text.replace(UNC, keepName).replace(WINDOWS, keepName).replace(HOME, keepName).replace(POSIX, keepName);
}

function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactPaths(value);
  if (depth > 20 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)]));
}

/** An error as clients (task views, events, webhooks) see it: no file paths of the rig. Admins read the raw one in the logs. */
export function clientError(error: JobError): JobError {
  return redactDeep(error) as JobError;
}

import type { FieldError } from "../../shared/errors.ts";
import { isComfyEdgeError } from "../sdk/errors.ts";

/** Stable codes a CLI failure carries, and the exit code each maps to (documented in `comfy-gen --help`). */
export const EXIT_CODES = {
  job_failed: 1,
  usage: 2,
  auth: 3,
  timeout: 4,
  interrupted: 130,
} as const;
export type CLIErrorCode = keyof typeof EXIT_CODES;

/** The one error type the entry point turns into a message and an exit code. */
export class CLIError extends Error {
  override readonly name = "CLIError";
  readonly code: CLIErrorCode;
  /** The server's field errors, one line each when shown. */
  readonly details: FieldError[];
  /** The server's (or SDK's) error code, shown beside the message and in --json output. */
  readonly apiCode: string | null;

  constructor(message: string, code: CLIErrorCode, extra: { details?: FieldError[]; apiCode?: string | null } = {}) {
    super(message);
    this.code = code;
    this.details = extra.details ?? [];
    this.apiCode = extra.apiCode ?? null;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isCLIError(e: unknown): e is CLIError {
  return e instanceof CLIError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "CLIError");
}

/** Maps anything thrown to a CLIError: SDK errors by their code and status, the rest as usage/request errors. */
export function toCLIError(e: unknown): CLIError {
  if (isCLIError(e)) return e;
  if (isComfyEdgeError(e)) {
    const extra = { details: e.details, apiCode: e.code };
    if (e.status === 401 || (e.status === 403 && e.code === "forbidden")) {
      return new CLIError(`${e.message} Check --key or COMFY_EDGE_API_KEY.`, "auth", extra);
    }
    if (e.code === "timeout") return new CLIError(e.message, "timeout", extra);
    if (e.code === "aborted") return new CLIError("Interrupted.", "interrupted", extra);
    if (e.code === "network") return new CLIError(`${e.message} Check --url or COMFY_EDGE_URL.`, "usage", extra);
    return new CLIError(e.message, "usage", extra);
  }
  if (e instanceof Error && e.name === "AbortError") return new CLIError("Interrupted.", "interrupted");
  if (e instanceof Error && "code" in e && typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS")) {
    return new CLIError(`${e.message}. See comfy-gen --help.`, "usage");
  }
  if (e instanceof Error && "code" in e && typeof e.code === "string" && ["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EEXIST"].includes(e.code)) {
    return new CLIError(e.message, "usage");
  }
  return new CLIError(`Unexpected error: ${e instanceof Error ? e.message : String(e)}`, "usage");
}

import type { ConfigProblem } from "../../shared/model-catalog/ini.ts";

/** The config cannot be used at all (exit code 2): missing file, or bad lines listed in `problems`. */
export class ModelsConfigError extends Error {
  override readonly name = "ModelsConfigError";
  readonly code: "config_not_found" | "config_invalid" | "bad_option";
  readonly problems: readonly ConfigProblem[];

  constructor(code: ModelsConfigError["code"], message: string, problems: readonly ConfigProblem[] = []) {
    super(message);
    this.code = code;
    this.problems = problems;
  }
}

export type DownloadErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "http_error"
  | "network"
  | "truncated"
  | "size_mismatch"
  | "checksum_mismatch"
  | "too_many_redirects"
  | "insecure_redirect"
  | "aborted"
  | "disk_full"
  | "io";

/** Why one file failed, as a value; `retryable` decides whether another attempt may help. */
export type DownloadFailure = {
  code: DownloadErrorCode;
  message: string;
  retryable: boolean;
};

/** Thrown inside one download attempt and caught by its retry loop. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  readonly failure: DownloadFailure;

  constructor(code: DownloadErrorCode, message: string, retryable: boolean) {
    super(message);
    this.failure = { code, message, retryable };
  }
}

export function isDownloadError(error: unknown): error is DownloadError {
  return error instanceof Error && error.name === "DownloadError" && "failure" in error;
}

/** Any thrown thing as a failure: our own errors keep their code, the rest are network/io trouble. */
export function toFailure(error: unknown): DownloadFailure {
  if (isDownloadError(error)) return error.failure;
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as NodeJS.ErrnoException).code;
  if (err.name === "AbortError") return { code: "aborted", message: "stopped before it finished; run again to resume", retryable: false };
  if (code === "ENOSPC") return { code: "disk_full", message: "disk full; free space and run again (the partial file is kept)", retryable: false };
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return { code: "io", message: `cannot write: ${err.message}`, retryable: false };
  return { code: "network", message: err.message || String(code ?? "connection failed"), retryable: true };
}

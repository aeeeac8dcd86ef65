import type { DownloadFailure } from "./errors.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";

export type UpToDateReason = "sidecar" | "pinned_checksum" | "hub_checksum";

/** How one file ended. */
export type FileOutcome =
  | { status: "downloaded"; relPath: string; path: string; bytes: number; sha256: string; resumedFrom: number; attempts: number; commit: string | null }
  | { status: "up_to_date"; relPath: string; path: string; reason: UpToDateReason }
  | { status: "failed"; relPath: string; path: string; failure: DownloadFailure; attempts: number };

/** Progress as it happens; the CLI draws bars or prints lines from these, a library caller may log them. */
export type DownloadEvents = {
  planned?(specs: readonly ModelSpec[]): void;
  started?(spec: ModelSpec, info: { totalBytes: number | null; resumedFrom: number }): void;
  advanced?(spec: ModelSpec, bytes: number): void;
  retrying?(spec: ModelSpec, info: { attempt: number; delayMs: number; failure: DownloadFailure }): void;
  finished?(spec: ModelSpec, outcome: FileOutcome): void;
};

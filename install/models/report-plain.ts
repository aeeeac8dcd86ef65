import type { DownloadEvents, FileOutcome } from "./events.ts";
import { formatBytes, formatDuration } from "./format.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import { ProgressTally, type Rate } from "./tally.ts";

const QUIET_MS = 30_000;

/** Line-per-event output for logs and pipes: start, every 25 % (or 30 s), retries, the end of each file. */
export function plainReporter(write: (line: string) => void, now: () => number = Date.now): DownloadEvents {
  const tally = new ProgressTally(now);
  const last = new Map<string, { quarter: number; at: number }>();
  return {
    started(spec, info) {
      tally.start(spec, info.totalBytes, info.resumedFrom);
      const startQuarter = info.totalBytes ? Math.floor((info.resumedFrom / info.totalBytes) * 4) : 0;
      last.set(spec.relPath, { quarter: startQuarter, at: now() });
      const size = info.totalBytes === null ? "size unknown" : formatBytes(info.totalBytes);
      const resumed = info.resumedFrom > 0 ? `, resuming at ${formatBytes(info.resumedFrom)}` : "";
      write(`start  ${spec.relPath} (${size}${resumed})`);
    },
    advanced(spec, bytes) {
      tally.advance(spec, bytes);
      const rate = tally.file(spec);
      const previous = last.get(spec.relPath);
      if (!rate || !previous) return;
      const quarter = rate.percent === null ? 0 : Math.floor(rate.percent / 25);
      const due = (quarter > previous.quarter && quarter < 4) || now() - previous.at >= QUIET_MS;
      if (!due) return;
      last.set(spec.relPath, { quarter: Math.max(quarter, previous.quarter), at: now() });
      write(`       ${spec.relPath} ${describe(rate)} | total ${describe(tally.overall())}`);
    },
    retrying(spec, info) {
      write(`retry  ${spec.relPath}: ${info.failure.message} (attempt ${info.attempt} in ${formatDuration(info.delayMs / 1000)})`);
    },
    finished(spec, outcome) {
      tally.finish(spec, outcome.status === "downloaded");
      write(outcomeLine(spec, outcome));
    },
  };
}

export function describe(rate: Rate): string {
  const amount = rate.total === null ? formatBytes(rate.done) : `${formatBytes(rate.done)}/${formatBytes(rate.total)}`;
  const percent = rate.percent === null ? "" : `${rate.percent}% `;
  return `${percent}${amount} ${formatBytes(rate.bytesPerSecond)}/s ETA ${formatDuration(rate.etaSeconds)}`;
}

export function outcomeLine(spec: ModelSpec, outcome: FileOutcome): string {
  switch (outcome.status) {
    case "downloaded": {
      const resumed = outcome.resumedFrom > 0 ? `, resumed at ${formatBytes(outcome.resumedFrom)}` : "";
      return `done   ${spec.relPath} (${formatBytes(outcome.bytes)}, sha256 ${outcome.sha256.slice(0, 12)}${resumed})`;
    }
    case "up_to_date":
      return `skip   ${spec.relPath} (already complete, ${outcome.reason === "sidecar" ? "verified earlier" : "checksum matches"})`;
    case "failed":
      return `FAILED ${spec.relPath}: ${outcome.failure.message} [${outcome.failure.code}]`;
  }
}

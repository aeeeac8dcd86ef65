import cliProgress from "cli-progress";
import type { DownloadEvents } from "./events.ts";
import { formatBytes, formatDuration } from "./format.ts";
import { outcomeLine } from "./report-plain.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";
import { ProgressTally, type Rate } from "./tally.ts";

type Bar = ReturnType<cliProgress.MultiBar["create"]>;

/** A bar per running file and a total bar (bytes, speed, ETA), redrawn on a terminal. */
export function ttyReporter(stream: NodeJS.WriteStream): DownloadEvents & { stop(): void } {
  const tally = new ProgressTally();
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{label} |{bar}| {percentage}% {amount} {speed} ETA {eta_text}",
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      barsize: 24,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  const total = multi.create(1, 0, payload("total", tally.overall()));
  const bars = new Map<string, Bar>();

  const refreshTotal = () => {
    const rate = tally.overall();
    total.setTotal(Math.max(1, rate.total ?? rate.done));
    total.update(rate.done, payload("total", rate));
  };

  return {
    started(spec, info) {
      tally.start(spec, info.totalBytes, info.resumedFrom);
      const rate = tally.file(spec);
      bars.set(spec.relPath, multi.create(Math.max(1, info.totalBytes ?? 1), info.resumedFrom, payload(label(spec), rate)));
      refreshTotal();
    },
    advanced(spec, bytes) {
      tally.advance(spec, bytes);
      const rate = tally.file(spec);
      const bar = bars.get(spec.relPath);
      if (bar && rate) bar.update(rate.done, payload(label(spec), rate));
      refreshTotal();
    },
    retrying(spec, info) {
      multi.log(`retry  ${spec.relPath}: ${info.failure.message} (attempt ${info.attempt} in ${formatDuration(info.delayMs / 1000)})\n`);
    },
    finished(spec, outcome) {
      tally.finish(spec, outcome.status === "downloaded");
      const bar = bars.get(spec.relPath);
      if (bar) {
        multi.remove(bar);
        bars.delete(spec.relPath);
      }
      multi.log(`${outcomeLine(spec, outcome)}\n`);
      refreshTotal();
    },
    stop() {
      multi.update(); // flushes lines logged since the last frame; stop() alone drops them
      multi.stop();
    },
  };
}

function label(spec: ModelSpec): string {
  return spec.relPath.length > 40 ? `…${spec.relPath.slice(-39)}` : spec.relPath;
}

function payload(name: string, rate: Rate | null) {
  return {
    label: name,
    amount: rate === null ? "" : rate.total === null ? formatBytes(rate.done) : `${formatBytes(rate.done)}/${formatBytes(rate.total)}`,
    speed: rate === null ? "" : `${formatBytes(rate.bytesPerSecond)}/s`,
    eta_text: formatDuration(rate?.etaSeconds ?? null),
  };
}

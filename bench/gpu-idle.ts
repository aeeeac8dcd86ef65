import type { SimExecution } from "../sim/server.ts";

export interface IdleFigures {
  /** Σ gaps / Σ spans over the sims: the share of each sim's busy window it spent waiting for work. */
  fraction: number;
  /** The worst sim's own gaps / span. */
  maxFraction: number;
  meanGapMs: number;
}

/**
 * Idle time between consecutive executions, per sim: from its first start to its last end,
 * the time with nothing executing. While a backlog waits at the edge (the benchmark submits
 * every job up front), that is time the GPU could have been working.
 */
export function gpuIdle(perSim: readonly (readonly SimExecution[])[]): IdleFigures {
  let gaps = 0;
  let spans = 0;
  let gapCount = 0;
  let maxFraction = 0;
  for (const execs of perSim) {
    if (execs.length === 0) continue;
    const sorted = [...execs].sort((a, b) => a.started_at - b.started_at);
    let simGaps = 0;
    let lastEnd = sorted[0]!.ended_at;
    for (const e of sorted.slice(1)) {
      simGaps += Math.max(0, e.started_at - lastEnd);
      gapCount++;
      lastEnd = Math.max(lastEnd, e.ended_at);
    }
    const span = lastEnd - sorted[0]!.started_at;
    gaps += simGaps;
    spans += span;
    if (span > 0) maxFraction = Math.max(maxFraction, simGaps / span);
  }
  return { fraction: spans > 0 ? gaps / spans : 0, maxFraction, meanGapMs: gapCount ? gaps / gapCount : 0 };
}

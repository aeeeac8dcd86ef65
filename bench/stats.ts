/** Latency summary in milliseconds, as every section reports it. */
export interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Nearest-rank percentile of an ascending array (`p` in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** p50/p95/p99/mean/min/max of samples (ms); NaN-free: an empty list gives n = 0 and zeros. */
export function summarize(samples: readonly number[]): Latency {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return { n: 0, p50: 0, p95: 0, p99: 0, mean: 0, min: 0, max: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    n: xs.length,
    p50: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    p99: round(percentile(xs, 99)),
    mean: round(mean),
    min: round(xs[0]!),
    max: round(xs[xs.length - 1]!),
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Element-wise median of several runs of the same shape: numbers become their median (runs
 * where the value is null or missing are left out), booleans the majority, arrays and objects
 * recurse (arrays align by index), anything else is taken from the first run that has it.
 */
export function medianOfRuns<T>(runs: readonly T[]): T {
  const nums = runs.filter((r): r is T & number => typeof r === "number" && Number.isFinite(r));
  if (nums.length) return round(median(nums), 4) as T;
  const flags = runs.filter((r) => typeof r === "boolean");
  if (flags.length) return (flags.filter(Boolean).length * 2 > flags.length) as T; // the majority
  const first = runs.find((r) => r !== null && r !== undefined) ?? runs[0];
  if (Array.isArray(first)) {
    return first.map((_, i) => medianOfRuns(runs.map((r) => (Array.isArray(r) ? r[i] : undefined)).filter((x) => x !== undefined))) as T;
  }
  if (first && typeof first === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) {
      out[key] = medianOfRuns(runs.map((r) => (r as Record<string, unknown> | null)?.[key]).filter((x) => x !== undefined));
    }
    return out as T;
  }
  return first as T;
}

export { round };

import { describe, expect, it } from "vitest";
import { medianOfRuns, percentile, summarize } from "./stats.ts";

describe("latency summaries", () => {
  it("takes nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
  });

  it("summarizes unsorted samples and ignores non-finite ones", () => {
    const s = summarize([3, 1, 2, Number.NaN, 4]);
    expect(s).toMatchObject({ n: 4, p50: 2, min: 1, max: 4, mean: 2.5 });
  });

  it("reports n = 0 with zeros for no samples", () => {
    expect(summarize([])).toEqual({ n: 0, p50: 0, p95: 0, p99: 0, mean: 0, min: 0, max: 0 });
  });
});

describe("median of runs", () => {
  it("takes the element-wise median of numbers, through objects and arrays, keeping other values from the first run", () => {
    const runs = [
      { a: 1, list: [{ x: 10, name: "s" }], note: "first", none: null },
      { a: 5, list: [{ x: 30, name: "t" }], note: "second", none: null },
      { a: 3, list: [{ x: 20, name: "u" }], note: "third", none: null },
    ];
    expect(medianOfRuns(runs)).toEqual({ a: 3, list: [{ x: 20, name: "s" }], note: "first", none: null });
  });

  it("leaves out runs where a figure is null", () => {
    expect(medianOfRuns([{ v: null }, { v: 4 }, { v: 2 }])).toEqual({ v: 3 });
    expect(medianOfRuns([{ s: null }, { s: { n: 1 } }])).toEqual({ s: { n: 1 } });
  });
});

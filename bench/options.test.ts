import { describe, expect, it } from "vitest";
import { parseOptions, UsageError, type BenchOptions } from "./options.ts";

const parse = (...argv: string[]) => parseOptions(argv) as BenchOptions;

describe("bench options", () => {
  it("runs every section once at full size by default", () => {
    const o = parse();
    expect(o.mode).toBe("full");
    expect(o.runs).toBe(1);
    expect(o.sections).toEqual(["submit", "dispatch", "real", "throughput", "scale"]);
    expect(o.counts.submitSequential).toBeGreaterThanOrEqual(500);
    expect(o.counts.jobsAtZero).toBe(1000);
    expect(o.counts.queuedDepth).toBe(10_000);
    expect(o.counts.scaleConnections).toBe(1000);
  });

  it("takes smaller counts for --quick and --smoke, and overrides the throughput grid", () => {
    expect(parse("--quick").counts.jobsAtZero).toBeLessThan(parse().counts.jobsAtZero);
    expect(parse("--smoke").counts.submitSequential).toBeLessThan(parse("--quick").counts.submitSequential);
    const o = parse("--agents", "2,4", "--renders", "0", "--prefetch", "1", "--runs", "3", "--only", "throughput");
    expect(o.counts).toMatchObject({ throughputAgents: [2, 4], throughputRenders: [0], throughputPrefetch: [1] });
    expect(o.runs).toBe(3);
    expect(o.sections).toEqual(["throughput"]);
  });

  it("refuses bad values with a UsageError naming the flag", () => {
    expect(() => parse("--runs", "0")).toThrow(/--runs/);
    expect(() => parse("--only", "submit,nope")).toThrow(/nope/);
    expect(() => parse("--agents", "1,x")).toThrow(UsageError);
    expect(() => parse("--quick", "--smoke")).toThrow(/exclude/);
    expect(() => parse("--bogus")).toThrow(UsageError);
  });

  it("takes --agent-bundle as a path to an existing bundle, and refuses a missing one", () => {
    expect(parse().agentBundle).toBeNull();
    expect(parse("--agent-bundle", "bench/options.ts").agentBundle).toMatch(/\/bench\/options\.ts$/);
    expect(() => parse("--agent-bundle", "no/such/bundle.mjs")).toThrow(/--agent-bundle: no file/);
  });

  it("takes --compare-agent as a path to an existing bundle, and refuses a missing one", () => {
    expect(parse().compareAgent).toBeNull();
    expect(parse("--compare-agent", "bench/options.ts").compareAgent).toMatch(/\/bench\/options\.ts$/);
    expect(() => parse("--compare-agent", "no/such/bundle.mjs")).toThrow(/--compare-agent: no file/);
  });

  it("answers help", () => {
    expect(parseOptions(["--help"])).toBe("help");
  });
});

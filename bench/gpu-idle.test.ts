import { describe, expect, it } from "vitest";
import type { SimExecution } from "../sim/server.ts";
import { gpuIdle } from "./gpu-idle.ts";

const exec = (started: number, ended: number): SimExecution => ({ prompt_id: `p${started}`, received_at: started, started_at: started, ended_at: ended, outcome: "success" });

describe("GPU idle between executions", () => {
  it("is the gaps over the span from first start to last end", () => {
    // busy 0-100, idle 100-110, busy 110-200: 10 ms idle of a 200 ms span.
    const f = gpuIdle([[exec(110, 200), exec(0, 100)]]);
    expect(f.fraction).toBeCloseTo(0.05);
    expect(f.meanGapMs).toBeCloseTo(10);
  });

  it("pools several sims and names the worst one", () => {
    const f = gpuIdle([[exec(0, 100), exec(100, 200)], [exec(0, 50), exec(100, 200)]]);
    expect(f.fraction).toBeCloseTo(50 / 400);
    expect(f.maxFraction).toBeCloseTo(0.25);
  });

  it("is zero with a single execution or none", () => {
    expect(gpuIdle([[exec(0, 100)], []]).fraction).toBe(0);
  });
});

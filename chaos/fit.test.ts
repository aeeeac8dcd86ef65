import { describe, expect, it } from "vitest";
import { linearFit } from "./fit.ts";

describe("linearFit", () => {
  it("recovers the slope and intercept of points on a line", () => {
    const fit = linearFit([0, 10, 20, 30].map((x) => ({ x, y: 5 + 0.5 * x })));
    expect(fit.slope).toBeCloseTo(0.5);
    expect(fit.intercept).toBeCloseTo(5);
    expect(fit.r2).toBeCloseTo(1);
  });

  it("gives a flat line with no fit for constant or degenerate input", () => {
    expect(linearFit([{ x: 0, y: 3 }, { x: 1, y: 3 }, { x: 2, y: 3 }])).toEqual({ slope: 0, intercept: 3, r2: 1 });
    expect(linearFit([{ x: 1, y: 2 }, { x: 1, y: 4 }]).slope).toBe(0);
    expect(linearFit([]).slope).toBe(0);
  });

  it("fits noisy data by least squares", () => {
    const fit = linearFit([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 2 }, { x: 3, y: 5 }]);
    expect(fit.slope).toBeCloseTo(1.1);
    expect(fit.intercept).toBeCloseTo(1.1);
    expect(fit.r2).toBeGreaterThan(0.5);
    expect(fit.r2).toBeLessThan(1);
  });
});

import { describe, expect, it } from "vitest";
import { FaultPlanner, SimFaultsSchema } from "./faults.ts";

describe("FaultPlanner", () => {
  it("draws the same faults for the same seed", () => {
    const draw = (): string[] => {
      const p = new FaultPlanner({ errorRate: 0.3, hangRate: 0.2, seed: 9 });
      return Array.from({ length: 50 }, () => {
        const plan = p.plan(["1", "2", "3"], ["2"]);
        return `${plan.kind}:${plan.nodeId}`;
      });
    };
    const a = draw();
    expect(draw()).toEqual(a);
    expect(new Set(a.map((x) => x.split(":")[0]))).toEqual(new Set(["none", "error", "hang"]));
    expect(a.filter((x) => x.startsWith("hang")).every((x) => x === "hang:2")).toBe(true);
  });

  it("plans nothing at zero rates or when nothing executes", () => {
    expect(new FaultPlanner({}).plan(["1"], []).kind).toBe("none");
    expect(new FaultPlanner({ errorRate: 1 }).plan([], []).kind).toBe("none");
    expect(new FaultPlanner({ errorRate: 1 }).plan(["1"], []).kind).toBe("error");
  });

  it("refuses rates outside 0..1 and unknown keys", () => {
    expect(SimFaultsSchema.safeParse({ crashRate: 1.5 }).success).toBe(false);
    expect(SimFaultsSchema.safeParse({ errorrate: 0.1 }).success).toBe(false);
  });
});

import { expect, it } from "vitest";
import { formatChaosReport } from "../chaos/report.ts";
import { DEFAULT_CHAOS, runChaos } from "../chaos/run.ts";

it(
  "100 jobs through 4 agents under sim faults, agent kills, link cuts and two edge restarts: none lost, none twice, R2 holds exactly the outputs",
  async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS, jobs: 100, agents: 4, deadlineMs: 360_000 });
    console.log(formatChaosReport(report));
    expect(report.violations).toEqual([]);
    expect(report.counts).toMatchObject({ jobs: 100, lost: 0, duplicated: 0, orphanObjects: 0, missingObjects: 0, attemptsOverMax: 0, failuresWithoutCause: 0 });
    expect(report.counts.succeeded + report.counts.failed + report.counts.cancelled).toBe(100);
    expect(report.edgeRestarts).toBe(2);
    expect(report.fleet.killed).toBeGreaterThan(0);
    expect(report.fleet.cuts).toBeGreaterThan(0);
  },
  420_000,
);

import { expect, it } from "vitest";
import { formatChaosReport } from "../chaos/report.ts";
import { DEFAULT_CHAOS, runChaos } from "../chaos/run.ts";

it(
  "100 jobs through 4 agents under sim faults, agent kills, link cuts, two edge restarts and gray faults (a broken rig, a frozen agent, a half-open link, slow and dead webhook receivers): none lost, none twice, R2 holds exactly the outputs, no job fails because of a gray rig",
  async () => {
    const report = await runChaos({ ...DEFAULT_CHAOS, jobs: 100, agents: 4, deadlineMs: 360_000 });
    console.log(formatChaosReport(report));
    expect(report.violations).toEqual([]);
    expect(report.counts).toMatchObject({ jobs: 100, lost: 0, duplicated: 0, orphanObjects: 0, missingObjects: 0, attemptsOverMax: 0, failuresWithoutCause: 0 });
    expect(report.counts.succeeded + report.counts.failed + report.counts.cancelled).toBe(100);
    expect(report.edgeRestarts).toBe(2);
    expect(report.fleet.killed).toBeGreaterThan(0);
    expect(report.fleet.cuts).toBeGreaterThan(0);

    const gray = report.gray!;
    const byKind = Object.fromEntries(gray.outcomes.map((o) => [o.kind, o]));
    for (const kind of ["frozen-agent", "half-open-link", "broken-rig", "slow-webhook", "dead-webhook"]) {
      expect(byKind[kind]?.hits, kind).toBeGreaterThan(0);
      expect(byKind[kind]?.touched, kind).toBeGreaterThan(0);
    }
    for (const kind of ["frozen-agent", "half-open-link", "broken-rig"]) expect(byKind[kind]?.failedByFault, kind).toBe(0);
    // Another owner's receivers get every delivery although most webhooks hit a 15 s or a dead receiver.
    expect(gray.otherOwnerWebhookMs).toHaveLength(gray.otherOwnerWebhooks);
    expect(gray.otherOwnerWebhooks).toBeGreaterThan(0);
  },
  420_000,
);

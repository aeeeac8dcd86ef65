import { describe, expect, it } from "vitest";
import { StatsRecorder } from "./stats.ts";

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("StatsRecorder", () => {
  it("counts time with a prompt queued and nothing running, and the gaps between executions", async () => {
    const s = new StatsRecorder();
    s.queueState(false, 1);
    await pause(5);
    s.queueState(true, 0);
    s.started("a", 0);
    const idle = s.snapshot().idleWhileQueuedMs;
    expect(idle).toBeGreaterThan(0);
    await pause(5);
    s.ended("success");
    expect(s.snapshot().idleWhileQueuedMs).toBe(idle);
    s.queueState(false, 0);
    await pause(5);
    s.started("b", 0);
    s.ended("interrupted");
    const snap = s.snapshot();
    expect(snap.idleWhileQueuedMs).toBe(idle);
    expect(snap).toMatchObject({ executed: 2, succeeded: 1, interrupted: 1, failed: 0 });
    expect(snap.executionGaps.count).toBe(1);
    expect(snap.executionGaps.totalMs).toBeGreaterThan(0);
    const [a, b] = snap.executions;
    expect(b?.started_at).toBeGreaterThanOrEqual(a?.ended_at ?? Infinity);
    expect(snap.busyMs).toBeGreaterThan(0);
  });

  it("keeps only the last 10k requests", () => {
    const s = new StatsRecorder();
    for (let i = 0; i < 10_005; i++) s.request("GET", `/${i}`);
    const requests = s.snapshot().requests;
    expect(requests).toHaveLength(10_000);
    expect(requests[0]?.path).toBe("/5");
    expect(requests.at(-1)?.path).toBe("/10004");
  });
});

import { describe, expect, test } from "vitest";
import type { TaskView } from "../shared/api.ts";
import { GrayTracker } from "./gray.ts";

const job = (id: string, lease = "l1") => JSON.stringify({ type: "job", job_id: id, lease_id: lease });
const up = (type: string, id: string) => JSON.stringify({ type, job_id: id, lease_id: "l1" });
const view = (status: string, code?: string) => ({ status, error: code ? { code } : null }) as unknown as TaskView;

describe("GrayTracker", () => {
  test("a strike touches the jobs the rig holds and times their move to another rig", () => {
    const t = new GrayTracker();
    t.record("down", job("a"), 1, 0);
    t.record("down", job("b"), 1, 0);
    t.record("up", up("complete", "b"), 1, 10);
    expect(t.heldBy(1)).toBe(1);
    expect(t.strike("frozen-agent", 1, 100)).toBe(1);
    t.record("down", job("a", "l2"), 2, 2_600);
    const frozen = t.outcomes(new Map([["a", view("SUCCESS")]])).find((o) => o.kind === "frozen-agent")!;
    expect(frozen).toMatchObject({ hits: 1, touched: 1, endings: { SUCCESS: 1 }, failedByFault: 0, redispatchMs: [2_500] });
  });

  test("every lease to a marked rig is touched, and a rig-caused failure counts against the fault", () => {
    const t = new GrayTracker();
    t.mark("broken-rig", 0, true);
    t.record("down", job("a"), 0);
    t.record("down", job("b"), 0);
    t.record("down", job("c"), 3);
    const views = new Map([["a", view("FAILURE", "rig_error")], ["b", view("FAILURE", "execution_error")], ["c", view("SUCCESS")]]);
    const broken = t.outcomes(views).find((o) => o.kind === "broken-rig")!;
    expect(broken).toMatchObject({ hits: 1, touched: 2, failedByFault: 1, endings: { "FAILURE:rig_error": 1, "FAILURE:execution_error": 1 } });
  });
});

import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { Outbox, type FinalMessage } from "./outbox.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const fail = (n: number): FinalMessage => ({ type: "fail", job_id: `j${n}`, lease_id: `l${n}`, retryable: true, error: { code: "x", message: "x" } });

test("keeps final messages until acked by job and lease, and forgets them after a lease TTL", () => {
  const box = new Outbox();
  box.add(fail(1));
  box.add(fail(2));
  box.ack({ job_id: "j1", lease_id: "l2" });
  expect(box.resend(1_000).map((m) => m.lease_id)).toEqual(["l1", "l2"]);
  box.ack({ job_id: "j1", lease_id: "l1" });
  expect(box.resend(1_000).map((m) => m.lease_id)).toEqual(["l2"]);
  vi.advanceTimersByTime(1_001);
  expect(box.resend(1_000)).toEqual([]);
  expect(box.size).toBe(0);
});

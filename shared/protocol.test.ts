import { describe, expect, it } from "vitest";
import { freeSlots } from "./protocol.ts";

describe("freeSlots: how many more jobs an agent takes", () => {
  const agent = { capacity: 1, prefetch: 1 };

  it("is capacity + prefetch minus the leases held", () => {
    expect(freeSlots(agent, { total: 0, uploading: 0 })).toBe(2);
    expect(freeSlots(agent, { total: 1, uploading: 0 })).toBe(1);
    expect(freeSlots(agent, { total: 2, uploading: 0 })).toBe(0);
  });

  it("does not count leases that are only uploading, up to twice capacity + prefetch in all", () => {
    expect(freeSlots(agent, { total: 2, uploading: 1 })).toBe(1);
    expect(freeSlots(agent, { total: 3, uploading: 2 })).toBe(1);
    expect(freeSlots(agent, { total: 4, uploading: 2 })).toBe(0);
    expect(freeSlots(agent, { total: 4, uploading: 4 })).toBe(0);
  });

  it("is never negative (an agent over its slots after a reconnect)", () => {
    expect(freeSlots({ capacity: 1, prefetch: 0 }, { total: 5, uploading: 0 })).toBe(0);
  });
});

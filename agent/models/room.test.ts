import { describe, expect, test } from "vitest";
import { planRoom } from "./room.ts";

const lru = [
  { key: "loras/old.safetensors", bytes: 300 },
  { key: "loras/mid.safetensors", bytes: 300 },
  { key: "loras/new.safetensors", bytes: 300 },
];

describe("planRoom", () => {
  test("evicts nothing when the new file fits the budget and the disk", () => {
    expect(planRoom({ need: 100, free: 10_000, margin: 1_000, budget: 1_000, used: 900, candidates: lru })).toEqual({ ok: true, evict: [] });
  });

  test("evicts the least recently used first, only as many as the budget needs", () => {
    expect(planRoom({ need: 500, free: 10_000, margin: 0, budget: 1_000, used: 900, candidates: lru })).toEqual({
      ok: true,
      evict: ["loras/old.safetensors", "loras/mid.safetensors"],
    });
  });

  test("evicts to make room on the disk, the margin kept free, even without a budget", () => {
    expect(planRoom({ need: 500, free: 700, margin: 400, budget: null, used: 900, candidates: lru })).toEqual({ ok: true, evict: ["loras/old.safetensors"] });
  });

  test("evicts nothing and says why when even every candidate gone is not enough", () => {
    const budget = planRoom({ need: 800, free: 10_000, margin: 0, budget: 1_000, used: 1_000, candidates: lru.slice(0, 1) });
    expect(budget).toMatchObject({ ok: false });
    expect(!budget.ok && budget.message).toMatch(/budget is 1000 B, of which 700 B/);
    const disk = planRoom({ need: 5_000, free: 1_000, margin: 100, budget: null, used: 900, candidates: lru });
    expect(!disk.ok && disk.message).toMatch(/needs 4\.9 KB but 1\.8 KB is free even after evicting 3/);
  });
});

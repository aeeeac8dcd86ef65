import { formatBytes } from "../../install/models/format.ts";

export type RoomRequest = {
  /** Bytes the new file still needs on disk. */
  need: number;
  /** Bytes free on the models folder's disk now. */
  free: number;
  /** Bytes of disk to leave free beyond the new file (ComfyUI writes outputs on it too). */
  margin: number;
  /** The budget for fetched models (`--models-cache-gb`); null: none. */
  budget: number | null;
  /** Bytes the fetched models take now, fetches in flight included. */
  used: number;
  /** Fetched models that may go (not pinned, not in use), least recently used first. */
  candidates: readonly { key: string; bytes: number }[];
};

export type RoomPlan = { ok: true; evict: string[] } | { ok: false; message: string };

/**
 * Which fetched models to evict, least recently used first, so the new file fits both the budget
 * and the disk (keeping `margin` free); none when it fits already. When it cannot fit even with every
 * candidate gone, nothing is evicted and the message says what stands in the way.
 */
export function planRoom(r: RoomRequest): RoomPlan {
  const evict: string[] = [];
  let freed = 0;
  const withinBudget = (): boolean => r.budget === null || r.used - freed + r.need <= r.budget;
  const onDisk = (): boolean => r.free + freed - r.margin >= r.need;
  for (const candidate of r.candidates) {
    if (withinBudget() && onDisk()) break;
    evict.push(candidate.key);
    freed += candidate.bytes;
  }
  if (!withinBudget() && r.budget !== null) {
    const kept = r.used - freed;
    return {
      ok: false,
      message: `needs ${formatBytes(r.need)} but the models budget is ${formatBytes(r.budget)}, of which ${formatBytes(kept)} are fetched models in use, pinned or still downloading`,
    };
  }
  if (!onDisk()) {
    const after = freed > 0 ? ` even after evicting ${evict.length} unused fetched model(s)` : "";
    return { ok: false, message: `needs ${formatBytes(r.need)} but ${formatBytes(Math.max(0, r.free + freed - r.margin))} is free${after} (keeping ${formatBytes(r.margin)} spare)` };
  }
  return { ok: true, evict };
}

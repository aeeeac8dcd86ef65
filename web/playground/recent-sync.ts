import type { JobList } from "../../shared/api.ts";
import { api } from "./api.ts";
import { mergeRecent } from "./recent.ts";

/**
 * Reads this key's newest jobs from the edge (`GET /v1/jobs`) into the recent list: jobs made
 * elsewhere (another browser, the CLI) appear, and every status is the edge's, not a stale copy.
 */
export async function syncRecent(): Promise<void> {
  const r = await api<JobList>("GET", "/v1/jobs?limit=20");
  if (!r.ok) return;
  mergeRecent(
    r.data.jobs.map((t) => ({ task_id: t.task_id, workflow_id: t.workflow_id ?? "raw graph", status: t.status, seed: t.seed, created_at: t.created_at })),
  );
}

import { JobListQuerySchema, JobListSchema, type TaskView } from "../../shared/api.ts";
import { ApiError, ErrorBodySchema, fieldErrorsFromZod } from "../../shared/errors.ts";
import { POOLS, workflowById } from "../catalog.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";
import { decodeCursor, encodeCursor, STATES_OF_STATUS, type JobCursor, type JobListFilter } from "../queue/job-list.ts";
import { queueFor } from "../queue/stub.ts";

const DEFAULT_LIMIT = 20;

/** Newest first across pools: creation time, then id, both descending (the queues' own order). */
function newerFirst(a: { view: TaskView; created: number }, b: { view: TaskView; created: number }): number {
  return b.created - a.created || (a.view.task_id < b.view.task_id ? 1 : a.view.task_id > b.view.task_id ? -1 : 0);
}

async function listJobs(c: AppContext): Promise<Response> {
  const parsed = JobListQuerySchema.safeParse(c.req.query());
  if (!parsed.success) throw new ApiError("bad_request", "Invalid query parameters for GET /v1/jobs; see details.", fieldErrorsFromZod(parsed.error));
  const q = parsed.data;
  const principal = c.get("principal");
  if (q.owner !== undefined && principal.role !== "admin") {
    throw new ApiError("bad_request", "Only admin keys may filter by owner; a client key always lists its own jobs.", [
      { path: "owner", rule: "admin_only", message: "allowed for admin keys only" },
    ]);
  }
  let before: JobCursor | null = null;
  if (q.cursor !== undefined) {
    before = decodeCursor(q.cursor);
    if (!before) throw new ApiError("bad_request", "That cursor is not one this edge gave out; pass next_cursor exactly as returned.", [{ path: "cursor", rule: "format", message: "not a next_cursor value" }]);
  }
  const limit = q.limit ? Number(q.limit) : DEFAULT_LIMIT;
  const filter: JobListFilter = {
    owner: principal.role === "admin" ? (q.owner ?? null) : principal.name,
    states: q.status ? [...new Set(q.status.split(",").flatMap((s) => STATES_OF_STATUS[s] ?? []))] : null,
    workflow_id: q.workflow_id ?? null,
    before,
    // One more than the page: whether an older page exists.
    limit: limit + 1,
  };
  const workflow = q.workflow_id ? workflowById(q.workflow_id) : undefined;
  const pools = workflow ? [workflow.pool] : POOLS;
  // The RPC stub's type loses TaskView's `unknown` error details; the queue returns exactly this.
  const pages = (await Promise.all(pools.map((pool) => queueFor(c.env, pool).listJobs(filter)))) as unknown as { views: TaskView[]; created: number[] }[];
  const merged = pages.flatMap((p) => p.views.map((view, i) => ({ view, created: p.created[i]! }))).sort(newerFirst);
  const page = merged.slice(0, limit);
  const last = page.at(-1);
  const next = merged.length > limit && last ? encodeCursor({ created_at: last.created, id: last.view.task_id }) : null;
  return c.json(JobListSchema.parse({ jobs: page.map((p) => p.view), next_cursor: next }));
}

export const jobListRoutes = defineRoutes([
  {
    method: "GET", path: "/v1/jobs", auth: ["client"], tag: "jobs",
    summary: "List the calling key's jobs (admin: every key's), newest first, a page at a time.",
    query: {
      status: "PENDING, PROGRESS, SUCCESS, FAILURE or CANCELLED; several comma-separated",
      workflow_id: "only this workflow's jobs",
      owner: "admin keys only: one key's jobs, by the key's name",
      limit: "page size, 1-100 (default 20)",
      cursor: "next_cursor from the previous page",
    },
    responses: { 200: { description: "A page of jobs", schema: JobListSchema }, 400: { description: "Invalid query", schema: ErrorBodySchema } },
    handler: listJobs,
  },
]);

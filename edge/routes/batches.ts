import { BatchSubmitResponseSchema, BatchViewSchema, type BatchView, type TaskStatus, type TaskView } from "../../shared/api.ts";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { catalog } from "../catalog.ts";
import { isKnownPool } from "../catalog.ts";
import { compileJob } from "../../shared/manifest/compile.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";
import { newBatchId, poolOfBatchId } from "../ids.ts";
import { queueFor } from "../queue/stub.ts";
import { holdImageInputs } from "./uploads.ts";
import { newJob, type JobSource } from "./new-job.ts";

/** Seed `i` of a batch: the first one plus i, wrapping within the seed's own range. */
function nthSeed(first: number, i: number, min: number, max: number): number {
  const span = max - min + 1;
  return min + ((first - min + i) % span);
}

/** `count` > 1 on a submit: N jobs with consecutive seeds under one batch id, queued all or none. */
export async function submitBatch(c: AppContext, s: JobSource): Promise<Response> {
  const config = c.get("config");
  const n = s.body.count;
  const seedSpec = s.workflow.params["seed"];
  const min = typeof seedSpec?.min === "number" ? seedSpec.min : 0;
  const max = typeof seedSpec?.max === "number" ? Math.min(seedSpec.max, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  const batchId = newBatchId(s.workflow.pool);
  const sources: JobSource[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || s.compiled.seed === null) {
      sources.push(i === 0 ? s : { ...s, idemKey: null, idemHash: null });
      continue;
    }
    const values = { ...s.values, seed: nthSeed(s.compiled.seed, i, min, max) };
    // Only the first job carries the Idempotency-Key: it names the whole batch.
    sources.push({ ...s, values, compiled: compileJob(catalog, s.workflow, values), idemKey: null, idemHash: null });
  }
  const releases: (() => Promise<void>)[] = [];
  const releaseAll = () => Promise.all(releases.map((r) => r())).then(() => undefined);
  try {
    for (const src of sources) releases.push(await holdImageInputs(c, s.workflow, src.values, src.compiled.images));
  } catch (e) {
    await releaseAll();
    throw e;
  }
  let result: Awaited<ReturnType<ReturnType<typeof queueFor>["enqueueBatch"]>>;
  try {
    result = await queueFor(c.env, s.workflow.pool).enqueueBatch(await Promise.all(sources.map((src) => newJob(src, batchId))));
  } catch (e) {
    await releaseAll();
    throw e;
  }
  if (!("value" in result) || !result.value.created) await releaseAll();
  if (!("value" in result)) {
    throw new ApiError(result.code, result.message, result.details, result.retry_after_s ? { "Retry-After": String(result.retry_after_s) } : undefined);
  }
  const id = result.value.batch_id;
  const payload = BatchSubmitResponseSchema.parse({
    batch_id: id,
    status: "PENDING",
    status_url: `${config.PUBLIC_URL}/v1/batches/${id}`,
    task_ids: result.value.task_ids,
    seeds: result.value.seeds,
  });
  return c.json(payload, 202, result.value.created ? {} : { "Idempotent-Replayed": "true" });
}

/** The batch's one word: what its jobs add up to. */
export function batchStatus(tasks: TaskView[]): { status: BatchView["status"]; counts: Partial<Record<TaskStatus, number>> } {
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const n = tasks.length;
  const ended = (counts.SUCCESS ?? 0) + (counts.FAILURE ?? 0) + (counts.CANCELLED ?? 0);
  let status: BatchView["status"];
  if ((counts.PENDING ?? 0) === n) status = "PENDING";
  else if (ended < n) status = "PROGRESS";
  else if (counts.SUCCESS === n) status = "SUCCESS";
  else if (counts.FAILURE === n) status = "FAILURE";
  else if (counts.CANCELLED === n) status = "CANCELLED";
  else if ((counts.SUCCESS ?? 0) > 0) status = "PARTIAL";
  else status = "FAILURE";
  return { status, counts };
}

function poolOrNotFound(id: string): string {
  const pool = poolOfBatchId(id);
  if (pool === null || !isKnownPool(pool)) throw notFound(id);
  return pool;
}

function notFound(id: string): ApiError {
  return new ApiError("not_found", `No batch ${id}. (Batches are visible only to the key that created them.)`);
}

const ownerOf = (c: AppContext): string | null => (c.get("principal").role === "admin" ? null : c.get("principal").name);

function view(id: string, tasks: TaskView[]): Response {
  return Response.json(BatchViewSchema.parse({ batch_id: id, ...batchStatus(tasks), tasks }));
}

async function getBatch(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const tasks = (await queueFor(c.env, poolOrNotFound(id)).getBatch(id, ownerOf(c))) as TaskView[] | null;
  if (!tasks) throw notFound(id);
  return view(id, tasks);
}

async function cancelBatch(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const tasks = (await queueFor(c.env, poolOrNotFound(id)).cancelBatch(id, ownerOf(c))) as TaskView[] | null;
  if (!tasks) throw notFound(id);
  return view(id, tasks);
}

const notFoundDoc = { 404: { description: "Unknown batch", schema: ErrorBodySchema } };

export const batchRoutes = defineRoutes([
  {
    method: "GET", path: "/v1/batches/:id", auth: ["client"], tag: "jobs", summary: "Every job of a batch (`count` on a submit) and the batch's overall state.",
    responses: { 200: { description: "The batch", schema: BatchViewSchema }, ...notFoundDoc }, handler: getBatch,
  },
  {
    method: "DELETE", path: "/v1/batches/:id", auth: ["client"], tag: "jobs", summary: "Cancel every job of a batch that has not ended.",
    responses: { 200: { description: "The batch after", schema: BatchViewSchema }, ...notFoundDoc }, handler: cancelBatch,
  },
]);

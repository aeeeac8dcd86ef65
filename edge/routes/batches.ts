import { BatchSubmitResponseSchema, BatchViewSchema, type BatchView, type TaskStatus, type TaskView } from "../../shared/api.ts";
import { ApiError, ErrorBodySchema, isApiError } from "../../shared/errors.ts";
import { catalog } from "../catalog.ts";
import { isKnownPool } from "../catalog.ts";
import { compileJob } from "../../shared/manifest/compile.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";
import { newBatchId, poolOfBatchId } from "../ids.ts";
import { queueFor } from "../queue/stub.ts";
import type { NewJob } from "../queue/types.ts";
import { holdImageInputs } from "./uploads.ts";
import { newJob, type JobSource } from "./new-job.ts";

/** Seed `i` of a batch: the first one plus i, wrapping within the seed's own range. */
function nthSeed(first: number, i: number, min: number, max: number): number {
  const span = max - min + 1;
  return min + ((first - min + i) % span);
}

/** One prepared batch item: its value, and how to give back what preparing it took (upload holds). */
export interface PreparedItem<T> {
  value: T;
  release: () => Promise<void>;
}

/**
 * The error for batch item `i`: its fields under `items.<i>.`, so the client sees which item
 * and which field. Anything else is the server's fault, not the request's: it goes on as it is
 * (a 500 from the app's error handler, which logs it and shows no stack).
 */
export function itemError(i: number, e: unknown): unknown {
  if (!isApiError(e)) return e;
  const at = `items.${i}`;
  const details = e.details?.length ? e.details.map((d) => ({ ...d, path: `${at}.${d.path}` })) : [{ path: at, rule: e.code, message: e.message }];
  return new ApiError(e.code, `Batch item ${i}: ${e.message}`, details, e.headers);
}

/**
 * Prepares `count` items one after another, all or none: when item i fails, what items 0..i-1
 * took is given back (they never reach the queue) and the error names item i. In order, not
 * at once, so that no preparation is still running when the client gets its answer.
 */
export async function prepareItems<T>(count: number, prepare: (i: number) => Promise<PreparedItem<T>>): Promise<PreparedItem<T[]>> {
  const done: PreparedItem<T>[] = [];
  const releaseAll = () => Promise.all(done.map((d) => d.release())).then(() => undefined);
  for (let i = 0; i < count; i++) {
    try {
      done.push(await prepare(i));
    } catch (e) {
      await releaseAll();
      throw itemError(i, e);
    }
  }
  return { value: done.map((d) => d.value), release: releaseAll };
}

/** Job source `i` of a batch: the submitted one first, then the same with the next seeds. */
function nthSource(s: JobSource, i: number, min: number, max: number): JobSource {
  if (i === 0) return s;
  // Only the first job carries the Idempotency-Key: it names the whole batch.
  if (s.compiled.seed === null) return { ...s, idemKey: null, idemHash: null };
  const values = { ...s.values, seed: nthSeed(s.compiled.seed, i, min, max) };
  return { ...s, values, compiled: compileJob(catalog, s.workflow, values), idemKey: null, idemHash: null };
}

/** Holds one item's uploads and builds its job; the holds are given back if the job cannot be built. */
async function prepareJob(c: AppContext, s: JobSource, batchId: string): Promise<PreparedItem<NewJob>> {
  const release = await holdImageInputs(c, s.workflow, s.values, s.compiled.images);
  try {
    return { value: await newJob(s, batchId), release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** `count` > 1 on a submit: N jobs with consecutive seeds under one batch id, queued all or none. */
export async function submitBatch(c: AppContext, s: JobSource): Promise<Response> {
  const config = c.get("config");
  const seedSpec = s.workflow.params["seed"];
  const min = typeof seedSpec?.min === "number" ? seedSpec.min : 0;
  const max = typeof seedSpec?.max === "number" ? Math.min(seedSpec.max, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  const batchId = newBatchId(s.workflow.pool);
  const jobs = await prepareItems(s.body.count, (i) => prepareJob(c, nthSource(s, i, min, max), batchId));
  let result: Awaited<ReturnType<ReturnType<typeof queueFor>["enqueueBatch"]>>;
  try {
    result = await queueFor(c.env, s.workflow.pool).enqueueBatch(jobs.value);
  } catch (e) {
    await jobs.release();
    throw e;
  }
  if (!("value" in result) || !result.value.created) await jobs.release();
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

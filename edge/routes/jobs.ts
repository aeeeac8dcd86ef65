import { z } from "zod";
import { BatchSubmitResponseSchema, SubmitBodySchema, SubmitResponseSchema, TaskEventSchema, TaskViewSchema, type SubmitBody } from "../../shared/api.ts";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { compileJob } from "../../shared/manifest/compile.ts";
import { validateParams } from "../../shared/manifest/params.ts";
import { authenticate } from "../auth/keys.ts";
import { sha256Hex } from "../auth/keys.ts";
import { catalog, isKnownPool, workflowById } from "../catalog.ts";
import { readJson } from "../http/body.ts";
import type { AppContext } from "../http/context.ts";
import { errorResponse } from "../http/errors.ts";
import { refuseMisplacedParams } from "../http/misplaced-params.ts";
import { preferredWaitS } from "../http/prefer.ts";
import { eventsUrl, statusUrl, verifyEventsToken } from "../http/links.ts";
import { bearer, defineRoutes } from "../http/route.ts";
import { newTaskId, poolOfTaskId } from "../ids.ts";
import { queueFor } from "../queue/stub.ts";
import { submitBatch } from "./batches.ts";
import { resolveImageInputs } from "./image-inputs.ts";
import { newJob, type JobSource } from "./new-job.ts";
import { assertRawAllowed, rawJob } from "./raw-job.ts";
import { rawImageInputs } from "./raw-images.ts";
import type { Graph } from "../../shared/manifest/schema.ts";
import type { Config } from "../env.ts";
import type { NewJob } from "../queue/types.ts";
import { refuseTarget, webhookPolicy } from "../webhooks/target.ts";
import { holdImageInputs } from "./uploads.ts";

const errors = {
  400: { description: "Invalid body or parameters", schema: ErrorBodySchema },
  401: { description: "No or bad API key", schema: ErrorBodySchema },
  422: { description: "Refused as it stands: a pixel budget (budget_exceeded), an input image (image_too_large, input_unavailable), or a node class no connected agent has (unknown_node, details name them)", schema: ErrorBodySchema },
};
const submitErrors = {
  ...errors,
  400: { description: "Invalid body, parameters or raw graph (`details` names each problem, e.g. `graph.5.inputs.model`: a link to a node the graph lacks, a cycle, a limit passed)", schema: ErrorBodySchema },
  403: { description: "`raw_not_allowed`: a `graph` from a key without `\"raw\": true` (admin keys always may)", schema: ErrorBodySchema },
};

/** For a receiver on the developer's own machine, which the SSRF rules refuse by design. */
const LOCAL_WEBHOOK_HINT =
  "For a local receiver in development, the edge's operator can allow it with WEBHOOK_ALLOW_HOSTS=<host:port> (plus ALLOW_HTTP_WEBHOOKS=true for plain http).";

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** A submit names a manifest workflow or carries a raw graph: exactly one of the two. */
function workflowIdOrGraph(body: SubmitBody): string | null {
  if (body.graph !== undefined && body.workflow_id !== undefined) {
    throw new ApiError("invalid_body", "Give workflow_id (with params) or graph (a raw ComfyUI prompt), not both.", [
      { path: "graph", rule: "one_of", message: "exactly one of workflow_id or graph; both were given" },
    ]);
  }
  if (body.graph === undefined && body.workflow_id === undefined) {
    throw new ApiError("invalid_body", "Name a workflow_id (GET /workflows lists them) or send a raw ComfyUI graph as graph.", [
      { path: "workflow_id", rule: "one_of", message: "exactly one of workflow_id or graph is required" },
    ]);
  }
  return body.workflow_id ?? null;
}

/** The webhook URL a submit asks for (or its alias), checked against the delivery rules. */
function webhookOf(config: Config, body: SubmitBody): string | null {
  if (body.webhook_url && body.callback_url && body.webhook_url !== body.callback_url) {
    throw new ApiError("invalid_body", "Give webhook_url or its alias callback_url, not two different URLs.", [
      { path: "callback_url", rule: "conflict", message: "differs from webhook_url" },
    ]);
  }
  const webhook = body.webhook_url ?? body.callback_url ?? null;
  if (webhook) {
    const why = refuseTarget(webhook, webhookPolicy(config));
    if (why) {
      const path = body.webhook_url ? "webhook_url" : "callback_url";
      throw new ApiError("invalid_body", `The webhook URL ${why}. ${LOCAL_WEBHOOK_HINT}`, [{ path, rule: "webhook_target", message: why }]);
    }
  }
  return webhook;
}

/** The Idempotency-Key header, and the hash of the body it must keep naming. */
async function idempotencyOf(c: AppContext, body: SubmitBody): Promise<{ idemKey: string | null; idemHash: string | null }> {
  const idemKey = c.req.header("idempotency-key") ?? null;
  if (idemKey !== null && !/^[\x21-\x7e]{1,255}$/.test(idemKey)) {
    throw new ApiError("bad_request", "Idempotency-Key must be 1-255 visible ASCII characters.");
  }
  const idemHash = idemKey ? await sha256Hex(stableJson(body)) : null;
  return { idemKey, idemHash };
}

/** `graph` instead of `workflow_id`: the same queue, routing, feed, outputs and webhooks. */
async function submitRaw(c: AppContext, body: SubmitBody): Promise<Response> {
  const config = c.get("config");
  const principal = c.get("principal");
  assertRawAllowed(principal);
  const job = await rawJob(principal, config, body, { owner: principal.name, webhook: webhookOf(config, body) });
  // Only a graph that passed its checks (nesting bounded) is walked for the idempotency hash.
  const { idemKey, idemHash } = await idempotencyOf(c, body);
  // Last check before the queue, as for a workflow: stores and holds the graph's input images.
  const { inputs, release } = await rawImageInputs(c, body.graph as Graph, body.images);
  return enqueueAndAnswer(c, { ...job, idem_key: idemKey, idem_hash: idemHash, inputs }, release);
}

async function submit(c: AppContext): Promise<Response> {
  const config = c.get("config");
  const principal = c.get("principal");
  const body: SubmitBody = await readJson(c.req.raw, SubmitBodySchema, config.MAX_BODY_BYTES, refuseMisplacedParams);
  const workflowId = workflowIdOrGraph(body);
  if (workflowId === null) return submitRaw(c, body);
  const workflow = workflowById(workflowId);
  if (!workflow) {
    throw new ApiError("unknown_workflow", `No workflow "${body.workflow_id}". Available: ${Object.keys(catalog.workflows).join(", ")}.`, [
      { path: "workflow_id", rule: "exists", message: `must be one of ${Object.keys(catalog.workflows).join(", ")}` },
    ]);
  }
  const checked = validateParams(catalog, workflow, await resolveImageInputs(c, workflow, body.params));
  if (!checked.ok) {
    const budget = checked.errors.find((e) => e.rule === "budget");
    if (budget) throw new ApiError("budget_exceeded", budget.message, checked.errors);
    throw new ApiError("invalid_params", `${checked.errors.length} parameter problem(s) for workflow "${workflow.id}"; see details.`, checked.errors);
  }
  if (body.images !== undefined) {
    throw new ApiError("invalid_body", `images is for raw graphs; workflow "${workflow.id}" takes its images as image parameters in params.`, [
      { path: "images", rule: "raw_graph", message: "only with graph; give images as params" },
    ]);
  }
  if (body.pool !== undefined && body.pool !== workflow.pool) {
    throw new ApiError("invalid_body", `Workflow "${workflow.id}" runs in pool "${workflow.pool}" (its manifest says so); pool is for raw graphs.`, [
      { path: "pool", rule: "workflow_pool", message: `must be "${workflow.pool}" or absent for this workflow` },
    ]);
  }
  const webhook = webhookOf(config, body);
  const compiled = compileJob(catalog, workflow, checked.values);
  const { idemKey, idemHash } = await idempotencyOf(c, body);
  const source: JobSource = { owner: principal.name, workflow, body, values: checked.values, compiled, idemKey, idemHash, webhook };
  if (body.count > 1) return submitBatch(c, source);
  // Last check before the queue: holds the job's uploads (and checks its pixel budget on them).
  const releaseInputs = await holdImageInputs(c, workflow, checked.values, compiled.images);
  return enqueueAndAnswer(c, await newJob(source), releaseInputs);
}

/** Queues one job and answers: 202 with its links, or 200 with the finished task under `Prefer: wait`. */
async function enqueueAndAnswer(c: AppContext, job: NewJob, releaseInputs: () => Promise<void>): Promise<Response> {
  const config = c.get("config");
  let result: Awaited<ReturnType<ReturnType<typeof queueFor>["enqueue"]>>;
  try {
    result = await queueFor(c.env, job.pool).enqueue(job);
  } catch (e) {
    await releaseInputs();
    throw e;
  }
  // A job that was not stored (refused, or an idempotent replay of one that already holds them) holds nothing.
  if (!("value" in result) || !result.value.created) await releaseInputs();
  if (!("value" in result)) {
    throw new ApiError(result.code, result.message, result.details, result.retry_after_s ? { "Retry-After": String(result.retry_after_s) } : undefined);
  }
  const { task_id, created, seed } = result.value;
  const payload = SubmitResponseSchema.parse({
    task_id,
    status: "PENDING",
    status_url: statusUrl(config, task_id),
    events_url: await eventsUrl(config, task_id),
    seed,
  });
  const replayed: Record<string, string> = created ? {} : { "Idempotent-Replayed": "true" };
  const waitS = preferredWaitS(c.req.header("prefer"));
  if (waitS !== null) {
    const finished = await queueFor(c.env, job.pool).awaitFinished(task_id, ownerFilter(c), waitS * 1000);
    if (finished) return c.json(finished, 200, { ...replayed, "Preference-Applied": `wait=${waitS}` });
  }
  return c.json(payload, 202, replayed);
}

function ownerFilter(c: AppContext): string | null {
  const p = c.get("principal");
  return p.role === "admin" ? null : p.name;
}

function notFound(id: string): ApiError {
  return new ApiError("not_found", `No task ${id}. (Tasks are visible only to the key that created them.)`);
}

/** The pool a task id names, if that pool exists; otherwise 404 before any queue is addressed. */
function poolOrNotFound(id: string): string {
  const pool = poolOfTaskId(id);
  if (pool === null || !isKnownPool(pool)) throw notFound(id);
  return pool;
}

async function getTask(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const pool = poolOrNotFound(id);
  const view = await queueFor(c.env, pool).getTask(id, ownerFilter(c));
  if (!view) throw notFound(id);
  return c.json(view);
}

async function cancelTask(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const pool = poolOrNotFound(id);
  const result = await queueFor(c.env, pool).cancelTask(id, ownerFilter(c));
  if (!("value" in result)) throw result.code === "not_found" ? notFound(id) : new ApiError(result.code, result.message);
  return c.json(result.value);
}

/** The events feed: Authorization header, or the signed `token` from `events_url` (browsers). */
async function events(c: AppContext): Promise<Response> {
  const id = c.req.param("id")!;
  const pool = poolOfTaskId(id);
  const token = c.req.query("token");
  let owner: string;
  const header = bearer(c.req.header("authorization"));
  if (header) {
    const p = await authenticate(c.env.API_KEYS, header);
    if (!p) throw new ApiError("unauthorized", "That API key is not valid.");
    if (p.role === "agent") throw new ApiError("forbidden", "Agent keys cannot watch tasks.");
    owner = p.role === "admin" ? "*" : p.name;
  } else if (token) {
    const v = await verifyEventsToken(c.get("config"), id, token);
    if (v === "expired") throw new ApiError("link_expired", "This events token has expired; read the task again for a fresh events_url.");
    if (v !== "ok") throw new ApiError("invalid_signature", "This events token is not valid for this task.");
    owner = "*";
  } else {
    throw new ApiError("unauthorized", 'Send "Authorization: Bearer <key>" or use the events_url (with its token) from the submit response.');
  }
  if (!pool || !isKnownPool(pool)) throw notFound(id);
  // HEAD reaches GET handlers; a 101 answer to it cannot be built, so only GET upgrades.
  const wantsWs = c.req.header("upgrade")?.toLowerCase() === "websocket" && c.req.method === "GET";
  const wantsSse = (c.req.header("accept") ?? "").includes("text/event-stream");
  if (!wantsWs && !wantsSse) {
    throw new ApiError("bad_request", "Open this URL as a WebSocket, or with \"Accept: text/event-stream\" for Server-Sent Events.");
  }
  const url = new URL(c.req.url);
  url.pathname = `/${wantsWs ? "events" : "sse"}/${id}`;
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-owner", owner);
  const res = await queueFor(c.env, pool).fetch(new Request(url.toString(), { headers }));
  if (res.status === 404) return errorResponse(notFound(id));
  return res;
}

export const jobRoutes = defineRoutes([
  {
    method: "POST", path: "/generate", auth: ["client"], tag: "jobs", body: SubmitBodySchema,
    summary: "Submit a job (the original service's route). Same as POST /v1/jobs.",
    responses: { 200: { description: "Finished within the Prefer: wait=N time (N ≤ 60 s); Preference-Applied says so", schema: TaskViewSchema }, 202: { description: "Queued (with count > 1: a batch of jobs)", schema: z.union([SubmitResponseSchema, BatchSubmitResponseSchema]) }, ...submitErrors }, handler: submit,
  },
  {
    method: "POST", path: "/v1/jobs", auth: ["client"], tag: "jobs", body: SubmitBodySchema,
    summary:
      "Submit a job: a workflow_id with params, or (keys with \"raw\": true, admin keys) a raw ComfyUI API-format graph, at most MAX_GRAPH_NODES nodes, within the body limit. " +
      "Idempotency-Key header: same key and body → the same task; a different body → 409. Prefer: wait=N (≤ 60 s): answers 200 with the finished task if it ends within N seconds, else 202.",
    responses: { 200: { description: "Finished within the Prefer: wait=N time (N ≤ 60 s); Preference-Applied says so", schema: TaskViewSchema }, 202: { description: "Queued (with count > 1: a batch of jobs)", schema: z.union([SubmitResponseSchema, BatchSubmitResponseSchema]) }, ...submitErrors }, handler: submit,
  },
  {
    method: "GET", path: "/tasks/:id", auth: ["client"], tag: "jobs", summary: "Read a task: status, progress, result links, error.",
    responses: { 200: { description: "The task", schema: TaskViewSchema }, 404: { description: "Unknown task", schema: ErrorBodySchema } }, handler: getTask,
  },
  {
    method: "GET", path: "/v1/jobs/:id", auth: ["client"], tag: "jobs", summary: "Same as GET /tasks/{id}.",
    responses: { 200: { description: "The task", schema: TaskViewSchema }, 404: { description: "Unknown task", schema: ErrorBodySchema } }, handler: getTask,
  },
  {
    method: "DELETE", path: "/tasks/:id", auth: ["client"], tag: "jobs", summary: "Cancel a queued or running task.",
    responses: { 200: { description: "Cancelled", schema: TaskViewSchema }, 409: { description: "Already finished", schema: ErrorBodySchema } }, handler: cancelTask,
  },
  {
    method: "DELETE", path: "/v1/jobs/:id", auth: ["client"], tag: "jobs", summary: "Same as DELETE /tasks/{id}.",
    responses: { 200: { description: "Cancelled", schema: TaskViewSchema }, 409: { description: "Already finished", schema: ErrorBodySchema } }, handler: cancelTask,
  },
  {
    method: "GET", path: "/tasks/:id/events", auth: "signed", tag: "jobs", websocket: true,
    summary: "Live feed of a task: WebSocket, or SSE with Accept: text/event-stream. Current state first, then every change; closes after the result.",
    query: { token: "signed token from events_url (instead of the Authorization header)" },
    responses: {
      101: { description: "WebSocket: one JSON TaskEvent per message (state, progress, preview)" },
      200: { description: "SSE stream: `event: <type>` and `data: <TaskEvent JSON>` per event", contentType: "text/event-stream", schema: TaskEventSchema },
    }, handler: events,
  },
]);

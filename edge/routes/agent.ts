import { readOutputBody, storeOutputBody } from "../uploads/store-output.ts";
import { z } from "zod";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { MAX_OUTPUTS_LIMIT } from "../../shared/manifest/schema.ts";
import { POOL_NAME } from "../../shared/protocol.ts";
import { verify } from "../auth/signing.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";
import { isKnownPool, POOLS } from "../catalog.ts";
import { poolOfTaskId } from "../ids.ts";
import { queueFor } from "../queue/stub.ts";

const AGENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Upgrades an agent's lease connection into its pool's queue (`?pool=&agent_id=`). */
async function connect(c: AppContext): Promise<Response> {
  const pool = c.req.query("pool") ?? "default";
  const agentId = c.req.query("agent_id") ?? "";
  if (!POOL_NAME.test(pool)) throw new ApiError("invalid_query", `pool "${pool}" is not a valid pool name (a-z, 0-9, _ and -).`);
  if (!isKnownPool(pool)) throw new ApiError("not_found", `No pool "${pool}": the pools are those the manifests name (${POOLS.join(", ")}).`);
  if (!AGENT_ID.test(agentId)) throw new ApiError("invalid_query", "agent_id is required (1-128 of A-Z a-z 0-9 _ . : -).");
  // HEAD reaches GET handlers; a 101 answer to it cannot be built, so only GET upgrades.
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket" || c.req.method !== "GET") {
    return Response.json({ error: { code: "bad_request", message: "This route is a WebSocket endpoint: send Upgrade: websocket." } }, { status: 426, headers: { upgrade: "websocket" } });
  }
  const url = new URL(c.req.url);
  url.pathname = "/agent/connect";
  const forward = new Request(url.toString(), c.req.raw);
  // The queue binds the agent id to this key at hello (set here, so a client cannot claim another key's name).
  forward.headers.set("x-agent-key", c.get("principal").name);
  return queueFor(c.env, pool).fetch(forward);
}

const UploadKey = /^out\/(tsk_[0-9a-z]{20}\.[a-z0-9][a-z0-9_-]{0,62})\/(lse_[0-9a-z]{16})\/(\d{1,3})$/;

/**
 * Streams one output into R2 under a key the edge chose (the lease's signed prefix plus a
 * small index). The queue then keeps it only if the lease is still current.
 */
async function upload(c: AppContext): Promise<Response> {
  const config = c.get("config");
  const key = new URL(c.req.url).pathname.slice("/agent/uploads/".length);
  const m = UploadKey.exec(key);
  if (!m) throw new ApiError("bad_request", "Upload to the URL the job message granted: /agent/uploads/out/<task>/<lease>/<index>.");
  const [, jobId, leaseId, index] = m as unknown as [string, string, string, string];
  const v = await verify(config.SIGNING_KEY, "upload", `out/${jobId}/${leaseId}`, c.req.query("exp"), c.req.query("sig"));
  if (v === "expired") throw new ApiError("link_expired", "This upload grant has expired.");
  if (v !== "ok") throw new ApiError("invalid_signature", "This upload URL is not signed for this lease.");
  if (Number(index) >= MAX_OUTPUTS_LIMIT) throw new ApiError("bad_request", `Output index must be below the grant's max_files (at most ${MAX_OUTPUTS_LIMIT}).`);
  const queue = queueFor(c.env, poolOfTaskId(jobId)!);
  // The body's start is read (nothing written) while the queue is asked; a refusal still answers first.
  const reading = readOutputBody(c).then((body) => ({ body }), (error: unknown) => ({ error }));
  // Checked before a byte is written: a settled lease's delivered output must never be replaced.
  if (!(await queue.uploadAllowed(jobId, leaseId, Number(index)))) {
    throw new ApiError("conflict", `Lease ${leaseId} of ${jobId} is no longer current, or index ${index} is beyond its grant's max_files; nothing was stored.`);
  }
  const read = await reading;
  if ("error" in read) throw read.error;
  const stored = await storeOutputBody(c, key, { job: jobId, lease: leaseId }, read.body);
  const kept = await queue.uploadFinished(jobId, leaseId, key, stored);
  if (!kept) throw new ApiError("conflict", `Lease ${leaseId} of ${jobId} is no longer current; the upload was discarded.`);
  return c.json({ key, bytes: stored.bytes, content_type: stored.content_type }, 201);
}

export const agentRoutes = defineRoutes([
  {
    method: "GET", path: "/agent/connect", auth: ["agent"], tag: "agents", websocket: true,
    query: { pool: "pool to join (default: default)", agent_id: "the agent's stable id (as in hello)" },
    summary: "The agents' lease connection (WebSocket, JSON frames per shared/protocol.ts).",
    responses: { 101: { description: "WebSocket" }, 426: { description: "Not a WebSocket request", schema: ErrorBodySchema } }, handler: connect,
  },
  {
    method: "PUT", path: "/agent/uploads/*", auth: "signed", tag: "agents", query: { exp: "grant expiry (epoch s)", sig: "grant signature" },
    summary: "Upload one output under the signed grant of a job message (the grant is the credential, like a presigned URL; image types only, Content-Length required, size-capped).",
    responses: { 201: { description: "Stored", schema: z.object({ key: z.string(), bytes: z.number(), content_type: z.string() }) }, 403: { description: "Bad grant", schema: ErrorBodySchema }, 409: { description: "Stale lease", schema: ErrorBodySchema } },
    handler: upload,
  },
]);

import { z } from "zod";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { POOL_NAME } from "../../shared/protocol.ts";
import { defineRoutes } from "../http/route.ts";
import { catalog, isKnownPool, POOLS } from "../catalog.ts";
import { queueFor } from "../queue/stub.ts";
import { renderMetrics } from "./metrics-text.ts";
import { webhookSecretText } from "../webhooks/signature.ts";

export const VERSION = "0.1.0";

function poolsOf(query: string | undefined): string[] {
  if (!query) return POOLS;
  const pools = query.split(",").filter(Boolean);
  const bad = pools.find((p) => !POOL_NAME.test(p));
  if (bad !== undefined || pools.length > 64) {
    throw new ApiError("invalid_query", `pool must be a comma-separated list of up to 64 pool names (a-z, 0-9, _ and -); got "${bad ?? query}".`);
  }
  const unknown = pools.find((p) => !isKnownPool(p));
  if (unknown !== undefined) throw new ApiError("not_found", `No pool "${unknown}": the pools are those the manifests name (${POOLS.join(", ")}).`);
  return [...new Set(pools)];
}

export const opsRoutes = defineRoutes([
  {
    method: "GET", path: "/ping", auth: "public", tag: "ops", summary: "Liveness: always pong.",
    responses: { 200: { description: "pong", schema: z.object({ message: z.literal("pong") }) } },
    handler: (c) => c.json({ message: "pong" }),
  },
  {
    method: "GET", path: "/health", auth: "public", tag: "ops", summary: "Health: version, manifests loaded, storage reachable.",
    responses: { 200: { description: "Healthy", schema: z.object({ status: z.string(), version: z.string(), workflows: z.number(), pools: z.array(z.string()) }) } },
    handler: (c) => c.json({ status: "ok", version: VERSION, workflows: Object.keys(catalog.workflows).length, pools: POOLS }),
  },
  {
    method: "GET", path: "/agents", auth: ["admin"], tag: "ops", query: { pool: "comma-separated pools (default: every pool a workflow names)" },
    summary: "Connected agents: pool, inventory (models on disk), model store (free disk, budget, models it fetched) and fetches in progress, GPU, ComfyUI version and node catalog (digest, class count), current jobs, last frame received, health (ok | quarantined, with reason and since).",
    responses: { 200: { description: "Agents", schema: z.object({ agents: z.array(z.record(z.string(), z.unknown())) }) } },
    handler: async (c) => {
      const lists = await Promise.all(poolsOf(c.req.query("pool")).map((p) => queueFor(c.env, p).listAgents(p)));
      return c.json({ agents: lists.flat() });
    },
  },
  {
    method: "GET", path: "/agents/:id/nodes", auth: ["admin"], tag: "ops", query: { pool: "the agent's pool (default: default)" },
    summary: "One agent's node catalog: the node classes its ComfyUI reported, their digest, and ComfyUI's version (classes null: not reported).",
    responses: {
      200: {
        description: "The catalog",
        schema: z.object({ agent_id: z.string(), comfyui_version: z.string().nullable(), digest: z.string().nullable(), classes: z.array(z.string()).nullable() }),
      },
      404: { description: "No such agent in this pool", schema: ErrorBodySchema },
    },
    handler: async (c) => {
      const id = c.req.param("id")!;
      const pool = c.req.query("pool") ?? "default";
      if (!POOL_NAME.test(pool)) throw new ApiError("invalid_query", `pool "${pool}" is not a valid pool name.`);
      if (!isKnownPool(pool)) throw new ApiError("not_found", `No pool "${pool}": the pools are those the manifests name (${POOLS.join(", ")}).`);
      const nodes = await queueFor(c.env, pool).agentNodes(id);
      if (!nodes) throw new ApiError("not_found", `Pool ${pool} knows no agent ${id}.`);
      return c.json(nodes);
    },
  },
  {
    method: "POST", path: "/agents/:id/drain", auth: ["admin"], tag: "ops", query: { pool: "the agent's pool (default: default)" },
    summary: "Drain one agent: it stops taking jobs, finishes or hands back what it holds, then exits.",
    responses: { 202: { description: "Drain sent", schema: z.object({ agent_id: z.string(), draining: z.literal(true) }) }, 404: { description: "No such connected agent", schema: ErrorBodySchema } },
    handler: async (c) => {
      const id = c.req.param("id")!;
      const pool = c.req.query("pool") ?? "default";
      if (!POOL_NAME.test(pool)) throw new ApiError("invalid_query", `pool "${pool}" is not a valid pool name.`);
      if (!isKnownPool(pool)) throw new ApiError("not_found", `No pool "${pool}": the pools are those the manifests name (${POOLS.join(", ")}).`);
      const ok = await queueFor(c.env, pool).drainAgent(id, `requested by admin ${c.get("principal").name}`);
      if (!ok) throw new ApiError("not_found", `No agent ${id} is connected to pool ${pool}.`);
      return c.json({ agent_id: id, draining: true as const }, 202);
    },
  },
  {
    method: "POST", path: "/agents/:id/release", auth: ["admin"], tag: "ops", query: { pool: "the agent's pool (default: default)" },
    summary: "Lift an agent's quarantine (its strikes too): it takes work again at once, without waiting for a probe.",
    responses: { 200: { description: "Released", schema: z.object({ agent_id: z.string(), health: z.literal("ok") }) }, 404: { description: "No such agent in this pool", schema: ErrorBodySchema } },
    handler: async (c) => {
      const id = c.req.param("id")!;
      const pool = c.req.query("pool") ?? "default";
      if (!POOL_NAME.test(pool)) throw new ApiError("invalid_query", `pool "${pool}" is not a valid pool name.`);
      if (!isKnownPool(pool)) throw new ApiError("not_found", `No pool "${pool}": the pools are those the manifests name (${POOLS.join(", ")}).`);
      const ok = await queueFor(c.env, pool).releaseAgent(id);
      if (!ok) throw new ApiError("not_found", `Pool ${pool} knows no agent ${id} (neither connected nor quarantined).`);
      console.log(JSON.stringify({ msg: "agent quarantine lifted", agent_id: id, pool, by: c.get("principal").name }));
      return c.json({ agent_id: id, health: "ok" as const });
    },
  },
  {
    method: "GET", path: "/metrics", auth: ["admin"], tag: "ops", summary: "Prometheus metrics: jobs by state, queue depth, agents, lease expiries, dispatch latency.",
    responses: { 200: { description: "Prometheus text", contentType: "text/plain; version=0.0.4" } },
    handler: async (c) => {
      const all = await Promise.all(poolsOf(c.req.query("pool")).map((p) => queueFor(c.env, p).metrics(p)));
      return new Response(renderMetrics(all), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    },
  },
  {
    method: "GET", path: "/v1/webhook-secret", auth: ["client"], tag: "jobs", summary: "This key's Standard Webhooks secret (whsec_...), to verify webhook signatures.",
    responses: { 200: { description: "The secret", schema: z.object({ secret: z.string() }) } },
    handler: async (c) => c.json({ secret: await webhookSecretText(c.get("config").SIGNING_KEY, c.get("principal").name) }),
  },
]);

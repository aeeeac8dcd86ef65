import type { SubmitBody } from "../../shared/api.ts";
import { ApiError } from "../../shared/errors.ts";
import { graphModels, graphNodeClasses } from "../../shared/manifest/graph.ts";
import { checkRawGraph, DEFAULT_RAW_GRAPH_LIMITS, describeGraphErrors } from "../../shared/raw-graph.ts";
import type { Principal } from "../auth/keys.ts";
import { isKnownPool, POOLS } from "../catalog.ts";
import type { Config } from "../env.ts";
import { newTaskId } from "../ids.ts";
import { RAW_WORKFLOW_ID, type NewJob } from "../queue/types.ts";
import { sha256Hex } from "../auth/keys.ts";
import { checkRawImages } from "./raw-images.ts";

/**
 * What a raw graph's job gets where a manifest workflow would say: the manifest defaults
 * (shared/manifest/schema.ts WorkflowEntrySchema), as base.yaml names no job-level defaults.
 */
export const RAW_JOB_DEFAULTS = { timeout_s: 600, retry_on_timeout: 1, max_outputs: 64 } as const;

/** What the submit route settled besides the graph. */
export interface SubmitCommon {
  owner: string;
  webhook: string | null;
}

/** Raw graphs run whatever nodes and files a client names on the operator's rigs: only keys allowed to. */
export function assertRawAllowed(principal: Principal): void {
  if (principal.role === "admin" || principal.raw === true) return;
  throw new ApiError(
    "raw_not_allowed",
    `The key "${principal.name}" may not submit raw graphs. Submit a workflow_id (GET /workflows lists them), or ask the edge's operator to add "raw": true to this key's API_KEYS entry.`,
    [{ path: "graph", rule: "raw_not_allowed", message: 'this key has no "raw": true' }],
  );
}

/** Body fields that belong to manifest workflows, refused beside a graph rather than ignored. */
function refuseWorkflowFields(body: SubmitBody): void {
  if (Object.keys(body.params).length > 0) {
    throw new ApiError("invalid_body", "A raw graph carries its values in its nodes' inputs; params go with a workflow_id.", [
      { path: "params", rule: "raw_graph", message: "not allowed with graph; set the values in the graph's inputs" },
    ]);
  }
  if (body.count !== 1) {
    // ComfyUI caches a prompt it has run: identical copies would only return the same images.
    throw new ApiError("invalid_body", "count is for workflows (it varies their seed); for more images from a raw graph, submit it once per seed you choose, or raise its batch_size.", [
      { path: "count", rule: "raw_graph", message: "must be 1 with graph" },
    ]);
  }
}

/**
 * Checks a raw-graph submit (permission, pool, the graph itself) and builds its job: the graph
 * as sent, its model files and node classes for routing, no workflow and no seed. The caller
 * adds its Idempotency-Key and input images.
 */
export async function rawJob(principal: Principal, config: Config, body: SubmitBody, common: SubmitCommon): Promise<NewJob> {
  assertRawAllowed(principal);
  refuseWorkflowFields(body);
  const pool = body.pool ?? "default";
  if (!isKnownPool(pool)) {
    throw new ApiError("not_found", `No pool "${pool}": the pools are those the manifests name (${POOLS.join(", ")}).`, [
      { path: "pool", rule: "exists", message: `must be one of ${POOLS.join(", ")}` },
    ]);
  }
  const checked = checkRawGraph(body.graph, { ...DEFAULT_RAW_GRAPH_LIMITS, maxNodes: config.MAX_GRAPH_NODES });
  if (!checked.ok) throw new ApiError("invalid_body", `The graph is not a valid ComfyUI API-format prompt: ${describeGraphErrors(checked.errors)}`, checked.errors);
  // Before the caller hashes the body for its Idempotency-Key: a malformed or deeply nested image is a 400 naming it.
  checkRawImages(body.images);
  const graphJson = JSON.stringify(checked.graph);
  return {
    id: newTaskId(pool),
    owner: common.owner,
    workflow_id: RAW_WORKFLOW_ID,
    pool,
    priority: body.priority,
    params_json: "{}",
    graph_json: graphJson,
    graph_sha256: await sha256Hex(graphJson),
    models: graphModels(checked.graph),
    nodes: graphNodeClasses(checked.graph),
    inputs: [],
    seed: null,
    output_format: body.output_format,
    quality: body.quality,
    ...RAW_JOB_DEFAULTS,
    idem_key: null,
    idem_hash: null,
    webhook_url: common.webhook,
    batch_id: null,
    previews: body.previews,
  };
}

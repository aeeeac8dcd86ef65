import type { SubmitBody } from "../../shared/api.ts";
import { sha256Hex } from "../auth/keys.ts";
import type { CompiledJob } from "../../shared/manifest/compile.ts";
import type { Workflow } from "../../shared/manifest/schema.ts";
import { newTaskId } from "../ids.ts";
import type { NewJob } from "../queue/types.ts";

export interface JobSource {
  owner: string;
  workflow: Workflow;
  body: SubmitBody;
  values: Record<string, unknown>;
  compiled: CompiledJob;
  idemKey: string | null;
  idemHash: string | null;
  webhook: string | null;
}

/** The queue's record of one validated, compiled submission. */
export async function newJob(s: JobSource, batchId: string | null = null): Promise<NewJob> {
  const graphJson = JSON.stringify(s.compiled.graph);
  return {
    id: newTaskId(s.workflow.pool),
    owner: s.owner,
    workflow_id: s.workflow.id,
    pool: s.workflow.pool,
    priority: s.body.priority,
    params_json: JSON.stringify(s.values),
    graph_json: graphJson,
    graph_sha256: await sha256Hex(graphJson),
    models: s.compiled.models,
    nodes: s.compiled.nodes,
    inputs: s.compiled.images.map((i) => ({ node_id: i.node_id, input: i.input, upload_id: i.upload_id })),
    seed: s.compiled.seed,
    output_format: s.body.output_format,
    quality: s.body.quality,
    timeout_s: s.workflow.timeout_s,
    retry_on_timeout: s.workflow.retry_on_timeout,
    max_outputs: s.workflow.max_outputs,
    idem_key: s.idemKey,
    idem_hash: s.idemHash,
    webhook_url: s.webhook,
    batch_id: batchId,
    previews: s.body.previews,
  };
}

import type { z } from "zod";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import { DEFAULT_INVENTORY } from "../../sim/folders.ts";
import { withEdge, type BenchEdge } from "../bench-edge.ts";
import { JobLog } from "../job-log.ts";
import type { Counts } from "../options.ts";
import { NO_PROFILING, type Profiling } from "../profiling.ts";
import { ProtocolAgent } from "../protocol-agent.ts";
import type { DispatchSectionSchema } from "../result.ts";
import { summarize } from "../stats.ts";

export type DispatchSection = z.infer<typeof DispatchSectionSchema>;

/**
 * Submits `jobs` jobs one at a time; each goes to an idle protocol agent that completes it at
 * once, and the next is submitted only after the edge acknowledged that completion.
 * Returns 202 → job frame and POST sent → job frame, in ms (202 → job may be negative:
 * the edge pushes the job before its 202 has crossed back).
 */
export async function sequentialDispatch(edge: BenchEdge, log: JobLog, jobs: number, firstIndex: number): Promise<{ from202: number[]; fromPost: number[] }> {
  const from202: number[] = [];
  const fromPost: number[] = [];
  for (let i = 0; i < jobs; i++) {
    const r = await edge.client.submit(firstIndex + i, 1);
    if (!r.body) throw new Error(`submit answered ${r.status}`);
    const id = r.body.task_id;
    const arrived = await log.waitArrival(id, 30_000);
    from202.push(arrived - r.endEpoch);
    fromPost.push(arrived - (performance.timeOrigin + r.start));
    await log.waitAck(id, 30_000);
  }
  return { from202, fromPost };
}

/** 202 → an idle agent holds the job, measured with the in-bench protocol agent. */
export async function benchDispatch(keys: EdgeKeys, counts: Counts, profiling: Profiling = NO_PROFILING): Promise<DispatchSection> {
  const { value, memory } = await withEdge(keys, { clientSockets: 4, profileFile: profiling.edgeFile("dispatch") }, async (edge) => {
    const log = new JobLog();
    const agent = await ProtocolAgent.connect({ edgeUrl: edge.url, token: keys.agent, agentId: "bench-proto-0", inventory: DEFAULT_INVENTORY, log });
    try {
      await sequentialDispatch(edge, log, 20, -1000); // warm-up
      return { ...(await sequentialDispatch(edge, log, counts.dispatchJobs, 0)), problems: log.problems };
    } finally {
      await agent.close();
    }
  });
  return {
    protocol_client: summarize(value.from202),
    protocol_client_from_post: summarize(value.fromPost),
    protocol_problems: value.problems,
    edge_memory: memory,
  };
}

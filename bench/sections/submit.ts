import type { z } from "zod";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import { withEdge } from "../bench-edge.ts";
import type { EdgeClient } from "../http-client.ts";
import type { Counts } from "../options.ts";
import { NO_PROFILING, type Profiling } from "../profiling.ts";
import type { SubmitSectionSchema } from "../result.ts";
import { round, summarize } from "../stats.ts";

export type SubmitSection = z.infer<typeof SubmitSectionSchema>;

/** Submits `total` jobs from `submitters` concurrent loops; returns per-request latencies and the wall time. */
export async function submitConcurrently(client: EdgeClient, total: number, submitters: number, opts: { firstIndex?: number; steps?: number } = {}): Promise<{
  latencies: number[]; seconds: number; non202: number; taskIds: string[]; acceptedEpoch: number[];
}> {
  let next = 0;
  const latencies: number[] = [];
  const taskIds: string[] = [];
  const acceptedEpoch: number[] = [];
  let non202 = 0;
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const r = await client.submit((opts.firstIndex ?? 0) + i, opts.steps ?? 1);
      latencies.push(r.end - r.start);
      if (r.body) {
        taskIds.push(r.body.task_id);
        acceptedEpoch.push(r.endEpoch);
      } else non202++;
    }
  };
  await Promise.all(Array.from({ length: submitters }, loop));
  return { latencies, seconds: (performance.now() - t0) / 1000, non202, taskIds, acceptedEpoch };
}

/** POST /generate → 202: sequential latency, then throughput with concurrent submitters (no agents: pure submit path). */
export async function benchSubmit(keys: EdgeKeys, counts: Counts, profiling: Profiling = NO_PROFILING): Promise<SubmitSection> {
  const { value, memory } = await withEdge(keys, { clientSockets: counts.submitters, profileFile: profiling.edgeFile("submit") }, async (edge) => {
    // Warm-up: JIT in workerd and here, the keep-alive connection, the Durable Object's first wake.
    for (let i = 0; i < 30; i++) await edge.client.submit(-1 - i, 1);
    const sequential: number[] = [];
    for (let i = 0; i < counts.submitSequential; i++) {
      const r = await edge.client.submit(i, 1);
      if (r.status !== 202) throw new Error(`submit answered ${r.status}`);
      sequential.push(r.end - r.start);
    }
    const concurrent = await submitConcurrently(edge.client, counts.submitConcurrent, counts.submitters, { firstIndex: counts.submitSequential });
    return { sequential, concurrent };
  });
  const c = value.concurrent;
  return {
    sequential: summarize(value.sequential),
    concurrent: {
      submitters: counts.submitters,
      requests: counts.submitConcurrent,
      seconds: round(c.seconds),
      requests_per_s: round(counts.submitConcurrent / c.seconds, 1),
      non_202: c.non202,
      latency: summarize(c.latencies),
    },
    edge_memory: memory,
  };
}

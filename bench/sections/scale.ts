import type { z } from "zod";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import { DEFAULT_INVENTORY } from "../../sim/folders.ts";
import { withEdge } from "../bench-edge.ts";
import { sleep } from "../clock.ts";
import { JobLog } from "../job-log.ts";
import type { Counts } from "../options.ts";
import { ProtocolAgent } from "../protocol-agent.ts";
import type { ScaleSectionSchema } from "../result.ts";
import { round, summarize } from "../stats.ts";
import { sequentialDispatch } from "./dispatch.ts";
import { submitConcurrently } from "./submit.ts";

export type ScaleSection = z.infer<typeof ScaleSectionSchema>;

/** Connects `count` protocol agents, `batch` handshakes at a time. */
async function connectMany(count: number, batch: number, connect: (i: number) => Promise<ProtocolAgent>): Promise<ProtocolAgent[]> {
  const agents: ProtocolAgent[] = [];
  for (let i = 0; i < count; i += batch) {
    agents.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, k) => connect(i + k)))));
  }
  return agents;
}

/** Many lease sockets on one queue: how long they take to join, and dispatch latency with all of them idle. */
async function manyConnections(keys: EdgeKeys, counts: Counts): Promise<ScaleSection["connections"]> {
  const { value, memory } = await withEdge(keys, { clientSockets: 4 }, async (edge) => {
    const log = new JobLog();
    const t0 = performance.now();
    const agents = await connectMany(counts.scaleConnections, 50, (i) =>
      ProtocolAgent.connect({ edgeUrl: edge.url, token: keys.agent, agentId: `bench-many-${i}`, inventory: DEFAULT_INVENTORY, log, connectTimeoutMs: 60_000 }),
    );
    const connectSeconds = (performance.now() - t0) / 1000;
    try {
      const connected = (await edge.client.connectedAgents()).length;
      await sequentialDispatch(edge, log, 10, -1000); // warm-up
      const { from202 } = await sequentialDispatch(edge, log, counts.scaleDispatchJobs, 0);
      return { connected, connectSeconds, from202, problems: log.problems };
    } finally {
      await Promise.all(agents.map((a) => a.close()));
    }
  });
  return {
    agents: counts.scaleConnections,
    connected: value.connected,
    connect_seconds: round(value.connectSeconds),
    dispatch: summarize(value.from202),
    protocol_problems: value.problems,
    edge_memory: memory,
  };
}

/**
 * A deep queue: `depth` jobs no connected agent can run (its inventory is empty), then submit
 * and GET latency at that depth, then agents that can run them drain for a while.
 */
async function deepQueue(keys: EdgeKeys, counts: Counts): Promise<ScaleSection["queued"]> {
  const { value, memory } = await withEdge(keys, { clientSockets: counts.submitters }, async (edge) => {
    const log = new JobLog();
    const blocker = await ProtocolAgent.connect({ edgeUrl: edge.url, token: keys.agent, agentId: "bench-empty", inventory: {}, log, autoComplete: false });
    const fill = await submitConcurrently(edge.client, counts.queuedDepth, counts.submitters);
    if (fill.non202 > 0) throw new Error(`${fill.non202} of ${counts.queuedDepth} submissions were refused while filling the queue`);
    const submitAtDepth: number[] = [];
    for (let i = 0; i < counts.atDepthSamples; i++) {
      const r = await edge.client.submit(counts.queuedDepth + i, 1);
      if (r.status !== 202) throw new Error(`submit at depth answered ${r.status}`);
      submitAtDepth.push(r.end - r.start);
    }
    const getAtDepth: number[] = [];
    for (let i = 0; i < counts.atDepthSamples; i++) {
      // Spread over the queue: the position a GET reports is counted from the front.
      const id = fill.taskIds[Math.floor((i / counts.atDepthSamples) * fill.taskIds.length)]!;
      const r = await edge.client.task(id);
      if (r.status !== 200) throw new Error(`GET at depth answered ${r.status}`);
      getAtDepth.push(r.end - r.start);
    }
    const depth = (await edge.client.jobsByState()).queue_depth ?? 0;
    const t0 = performance.now();
    const drainers = await Promise.all(
      Array.from({ length: counts.drainAgents }, (_, i) => ProtocolAgent.connect({ edgeUrl: edge.url, token: keys.agent, agentId: `bench-drain-${i}`, inventory: DEFAULT_INVENTORY, log })),
    );
    await sleep(counts.drainSeconds * 1000 - (performance.now() - t0));
    const drained = log.acks.size;
    const drainSeconds = (performance.now() - t0) / 1000;
    await Promise.all([blocker, ...drainers].map((a) => a.close()));
    return { fill, depth, submitAtDepth, getAtDepth, drained, drainSeconds, problems: log.problems };
  });
  return {
    depth: value.depth,
    fill_seconds: round(value.fill.seconds),
    fill_requests_per_s: round(counts.queuedDepth / value.fill.seconds, 1),
    fill_latency: summarize(value.fill.latencies),
    submit_at_depth: summarize(value.submitAtDepth),
    get_at_depth: summarize(value.getAtDepth),
    drain_agents: counts.drainAgents,
    drain_seconds: round(value.drainSeconds),
    drained: value.drained,
    drain_jobs_per_s: round(value.drained / value.drainSeconds, 1),
    protocol_problems: value.problems,
    edge_memory: memory,
  };
}

export async function benchScale(keys: EdgeKeys, counts: Counts): Promise<ScaleSection> {
  return { connections: await manyConnections(keys, counts), queued: await deepQueue(keys, counts) };
}

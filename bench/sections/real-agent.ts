import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { z } from "zod";
import type { SimExecution } from "../../sim/server.ts";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import { withEdge, type BenchEdge } from "../bench-edge.ts";
import { startAgentChild, startSimChild } from "../children.ts";
import { sleep, waitFor } from "../clock.ts";
import { watchUntilSuccess } from "../events-watch.ts";
import type { Counts } from "../options.ts";
import { NO_PROFILING, type Profiling } from "../profiling.ts";
import type { RealAgentSectionSchema } from "../result.ts";
import { median, round, summarize } from "../stats.ts";

export type RealAgentSection = z.infer<typeof RealAgentSectionSchema>;

const STEPS = 5;
const POLL_MS = 50;

interface Sample {
  postEpoch: number;
  acceptedEpoch: number;
  /** When the client learnt of SUCCESS with URLs; null when left out (a late events socket). */
  seenEpoch: number | null;
  via: "events" | "polling";
}

async function oneJob(edge: BenchEdge, i: number, via: Sample["via"]): Promise<Sample> {
  const r = await edge.client.submit(i, STEPS);
  if (!r.body) throw new Error(`submit answered ${r.status}`);
  const base = { postEpoch: performance.timeOrigin + r.start, acceptedEpoch: r.endEpoch, via };
  if (via === "events") {
    const seen = await watchUntilSuccess(r.body.events_url, 60_000);
    return { ...base, seenEpoch: seen.late ? null : seen.at };
  }
  for (;;) {
    const t = await edge.client.task(r.body.task_id);
    const v = t.body;
    if (v?.status === "SUCCESS" && v.result && v.result.outputs.length > 0) return { ...base, seenEpoch: t.endEpoch };
    if (v && (v.status === "FAILURE" || v.status === "CANCELLED")) throw new Error(`task ended ${v.status}: ${JSON.stringify(v.error)}`);
    await sleep(POLL_MS);
  }
}

/** Sequential jobs: job k's execution is the one the sim received after job k was posted and before job k+1. */
function matchExecutions(samples: Sample[], executions: SimExecution[]): (SimExecution | null)[] {
  const execs = [...executions].sort((a, b) => a.received_at - b.received_at);
  return samples.map((s, k) => {
    const until = samples[k + 1]?.postEpoch ?? Number.POSITIVE_INFINITY;
    return execs.find((e) => e.received_at >= s.postEpoch && e.received_at < until) ?? null;
  });
}

/**
 * One real agent process and one sim process, one job at a time with short renders:
 * 202 → the sim receives the prompt, and render end → the client sees SUCCESS, through
 * the events WebSocket and through polling.
 */
export async function benchRealAgent(keys: EdgeKeys, counts: Counts, profiling: Profiling = NO_PROFILING): Promise<RealAgentSection> {
  const stepMs = counts.realRenderMs / STEPS;
  const sim = await startSimChild("sim-real", stepMs);
  const stateDir = mkdtempSync(join(tmpdir(), "bench-agent-"));
  try {
    const { value, memory } = await withEdge(keys, { clientSockets: 4, profileFile: profiling.edgeFile("real-agent") }, async (edge) => {
      const cpuProfDir = profiling.agentDir("real-agent");
      const agent = await startAgentChild("bench-real", { edgeUrl: edge.url, token: keys.agent, comfyUrl: sim.url, stateDir, prefetch: 0, ...(cpuProfDir ? { cpuProfDir } : {}) });
      try {
        await waitFor(async () => (await edge.client.connectedAgents()).length === 1, "the agent to connect", 60_000, 100).catch((e: Error) => {
          throw new Error(`${e.message}\n${agent.tail()}`);
        });
        for (let i = 0; i < 3; i++) await oneJob(edge, -1 - i, "polling"); // warm-up
        const samples: Sample[] = [];
        for (let i = 0; i < counts.realJobs; i++) samples.push(await oneJob(edge, i, "events"));
        for (let i = 0; i < counts.realJobs; i++) samples.push(await oneJob(edge, counts.realJobs + i, "polling"));
        const agentMemory = agent.memory();
        return { samples, agentMemory };
      } finally {
        await agent.stop();
      }
    });
    const stats = await sim.stats();
    const simMemory = sim.memory();
    const execs = matchExecutions(value.samples, stats.executions);
    const views = stats.requests.filter((r) => /^(\/api)?\/view$/.test(r.path)).map((r) => r.at).sort((a, b) => a - b);
    const dispatch: number[] = [];
    const events: number[] = [];
    const polling: number[] = [];
    const endToView: number[] = [];
    const viewToSeen: number[] = [];
    let late = 0;
    value.samples.forEach((s, k) => {
      const e = execs[k];
      if (!e) return;
      dispatch.push(e.received_at - s.acceptedEpoch);
      if (s.seenEpoch === null) late++;
      else (s.via === "events" ? events : polling).push(s.seenEpoch - e.ended_at);
      const view = views.find((v) => v >= e.ended_at);
      if (s.via === "events" && s.seenEpoch !== null && view !== undefined) {
        endToView.push(view - e.ended_at);
        viewToSeen.push(s.seenEpoch - view);
      }
    });
    return {
      render_ms: counts.realRenderMs,
      dispatch_to_sim: summarize(dispatch),
      notify_events: summarize(events),
      notify_polling: summarize(polling),
      events_late: late,
      notify_breakdown: {
        end_to_view_ms: endToView.length ? round(median(endToView)) : null,
        view_to_seen_ms: viewToSeen.length ? round(median(viewToSeen)) : null,
      },
      agent_memory: value.agentMemory,
      sim_memory: simMemory,
      edge_memory: memory,
    };
  } finally {
    await sim.stop();
  }
}

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import { withEdge, type BenchEdge } from "../bench-edge.ts";
import { startAgentChild, startSimChild, type Child, type SimChild } from "../children.ts";
import { sleep, waitFor } from "../clock.ts";
import { gapBreakdown } from "../gap-breakdown.ts";
import { gpuIdle } from "../gpu-idle.ts";
import type { Counts } from "../options.ts";
import type { Profiling } from "../profiling.ts";
import type { Scenario } from "../result.ts";
import { round } from "../stats.ts";
import { submitConcurrently } from "./submit.ts";

/** Sampler steps × step time = render time; 0 ms renders run one step of 0 ms. */
export function renderPlan(renderMs: number): { steps: number; stepMs: number } {
  return renderMs === 0 ? { steps: 1, stepMs: 0 } : { steps: 10, stepMs: renderMs / 10 };
}

export interface ThroughputHooks {
  progress(line: string): void;
  profiling: Profiling;
}

export const scenarioName = (agents: number, prefetch: number, renderMs: number): string => `agents${agents}-prefetch${prefetch}-render${renderMs}ms`;

function jobCount(counts: Counts, agents: number, renderMs: number): number {
  if (renderMs === 0) return counts.jobsAtZero;
  return agents * (renderMs <= 100 ? counts.jobsPerAgentAt100 : counts.jobsPerAgentAt1000);
}

/**
 * Polls the edge's job counts (GET /metrics, every 250 ms: each poll costs the queue real work)
 * until every job finished, or until `capMs` (then the figures cover the jobs finished so far).
 * Throws when nothing finishes for a minute.
 */
async function untilFinished(edge: BenchEdge, jobs: number, capMs: number, pollMs = 250): Promise<{
  seconds: number; finished: number; byState: Record<string, number>; capped: boolean;
}> {
  const t0 = performance.now();
  let byState: Record<string, number> = {};
  let finished = 0;
  let progressAt = t0;
  for (;;) {
    await sleep(pollMs);
    byState = await edge.client.jobsByState();
    const now = (byState.succeeded ?? 0) + (byState.failed ?? 0);
    if (now > finished) progressAt = performance.now();
    finished = now;
    const elapsed = performance.now() - t0;
    if (finished >= jobs || elapsed >= capMs) return { seconds: elapsed / 1000, finished, byState, capped: finished < jobs };
    if (performance.now() - progressAt > 60_000) throw new Error(`no job finished for 60 s (${finished}/${jobs} done)`);
  }
}

/** When the last of these tasks finished (epoch ms, the edge's clock): the run's exact end, finer than the polling. */
async function lastFinish(edge: BenchEdge, taskIds: string[]): Promise<number> {
  let last = 0;
  for (const id of taskIds) {
    const finished = (await edge.client.task(id)).body?.finished_at;
    if (finished) last = Math.max(last, Date.parse(finished));
  }
  return last;
}

async function scenario(keys: EdgeKeys, counts: Counts, sims: SimChild[], prefetch: number, renderMs: number, hooks: ThroughputHooks): Promise<Scenario> {
  const n = sims.length;
  const { steps, stepMs } = renderPlan(renderMs);
  const jobs = jobCount(counts, n, renderMs);
  const name = scenarioName(n, prefetch, renderMs);
  const profileDir = hooks.profiling.agentDir(name);
  const stateDir = mkdtempSync(join(tmpdir(), "bench-agents-"));
  const base = { agents: n, prefetch, render_ms: renderMs, step_ms: stepMs, steps, jobs };
  const { value, memory } = await withEdge(keys, { clientSockets: counts.submitters, profileFile: hooks.profiling.edgeFile(name) }, async (edge) => {
    const agents: Child[] = await Promise.all(
      sims.map((sim, i) =>
        startAgentChild(`bench-${name}-${i}`, { edgeUrl: edge.url, token: keys.agent, comfyUrl: sim.url, stateDir, prefetch, ...(profileDir ? { cpuProfDir: profileDir } : {}) }),
      ),
    );
    let agentPeak = 0;
    try {
      await waitFor(async () => (await edge.client.connectedAgents()).length === n, `${n} agents to connect`, 90_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}\n${agents.map((a) => a.tail()).join("\n")}`);
      });
      const cpu = (): { agents: number; sims: number; edge: number; bench: number } => {
        const own = process.cpuUsage();
        return {
          agents: agents.reduce((a, c) => a + (c.cpuMs() ?? 0), 0),
          sims: sims.reduce((a, c) => a + (c.cpuMs() ?? 0), 0),
          edge: edge.cpuMs() ?? 0,
          bench: (own.user + own.system) / 1000,
        };
      };
      const idleBefore = (await Promise.all(sims.map((s) => s.stats()))).reduce((a, s) => a + s.idleWhileQueuedMs, 0);
      const cpuBefore = cpu();
      const startEpoch = performance.timeOrigin + performance.now();
      // The clock runs while submitting: a backlog builds at once, as when a burst of users arrives.
      const submitted = submitConcurrently(edge.client, jobs, counts.submitters, { steps });
      const polled = await untilFinished(edge, jobs, counts.scenarioCapSeconds * 1000);
      const { non202, taskIds } = await submitted;
      if (non202 > 0) throw new Error(`${name}: ${non202} submissions were refused`);
      // FIFO: the last to finish are among the last submitted (at most agents × (1 + prefetch) run at once).
      const lastAt = polled.capped ? 0 : await lastFinish(edge, taskIds.slice(-32));
      const run = lastAt > startEpoch ? { ...polled, seconds: (lastAt - startEpoch) / 1000 } : polled;
      const endEpoch = startEpoch + run.seconds * 1000;
      const cpuAfter = cpu();
      const perJob = (k: keyof typeof cpuAfter): number => round((cpuAfter[k] - cpuBefore[k]) / Math.max(1, run.finished), 2);
      const cpuPerJob = { agent: perJob("agents"), sim: perJob("sims"), edge: perJob("edge"), bench: perJob("bench") };
      for (const a of agents) agentPeak = Math.max(agentPeak, a.memory()?.peak_mb ?? 0);
      return { ...run, startEpoch, endEpoch, agentPeak, cpuPerJob, idleBefore };
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
    }
  });
  const stats = await Promise.all(sims.map((s) => s.stats()));
  const perSim = stats.map((s) => s.executions.filter((e) => e.started_at >= value.startEpoch && e.ended_at <= value.endEpoch));
  const idle = gpuIdle(perSim);
  return {
    ...base,
    succeeded: value.byState.succeeded ?? 0,
    failed: value.byState.failed ?? 0,
    capped: value.capped,
    seconds: round(value.seconds),
    jobs_per_s: round(value.finished / value.seconds, 2),
    gpu_idle_fraction: round(idle.fraction, 5),
    gpu_idle_max_fraction: round(idle.maxFraction, 5),
    mean_gap_ms: round(idle.meanGapMs),
    sim_idle_while_queued_ms: round(stats.reduce((a, s) => a + s.idleWhileQueuedMs, 0) - value.idleBefore),
    gaps: gapBreakdown(stats[0]!, value.startEpoch),
    cpu_ms_per_job: value.cpuPerJob,
    agent_peak_mb: value.agentPeak,
    sim_peak_mb: Math.max(0, ...sims.map((s) => s.memory()?.peak_mb ?? 0)),
    edge_memory: memory,
    error: null,
  };
}

function failed(agents: number, prefetch: number, renderMs: number, counts: Counts, error: unknown): Scenario {
  const { steps, stepMs } = renderPlan(renderMs);
  return {
    agents, prefetch, render_ms: renderMs, step_ms: stepMs, steps, jobs: jobCount(counts, agents, renderMs), succeeded: 0, failed: 0, capped: false, seconds: 0,
    jobs_per_s: 0, gpu_idle_fraction: 0, gpu_idle_max_fraction: 0, mean_gap_ms: 0, sim_idle_while_queued_ms: 0,
    gaps: { end_to_view_ms: null, view_to_next_prompt_ms: null, received_to_start_ms: 0, prefetched_share: 0 },
    cpu_ms_per_job: { agent: 0, sim: 0, edge: 0, bench: 0 }, agent_peak_mb: 0, sim_peak_mb: 0,
    edge_memory: null, error: error instanceof Error ? error.message : String(error),
  };
}

/**
 * Jobs/s and GPU idle for each agent count × render time × prefetch: N agent processes,
 * each with its own sim process, every job submitted up front by 16 concurrent submitters.
 * The sims of one agent count and render time serve both prefetch settings.
 */
export async function benchThroughput(keys: EdgeKeys, counts: Counts, hooks: ThroughputHooks): Promise<Scenario[]> {
  const out: Scenario[] = [];
  for (const n of counts.throughputAgents) {
    for (const renderMs of counts.throughputRenders) {
      const sims = await Promise.all(Array.from({ length: n }, (_, i) => startSimChild(`sim-${n}-${renderMs}-${i}`, renderPlan(renderMs).stepMs)));
      try {
        for (const prefetch of counts.throughputPrefetch) {
          try {
            const s = await scenario(keys, counts, sims, prefetch, renderMs, hooks);
            out.push(s);
            hooks.progress(`  ${scenarioName(n, prefetch, renderMs)}: ${s.jobs_per_s} jobs/s, GPU idle ${(s.gpu_idle_fraction * 100).toFixed(2)}%`);
          } catch (e) {
            out.push(failed(n, prefetch, renderMs, counts, e));
            hooks.progress(`  ${scenarioName(n, prefetch, renderMs)}: FAILED ${(e as Error).message.split("\n")[0]}`);
          }
        }
      } finally {
        await Promise.all(sims.map((s) => s.stop()));
      }
    }
  }
  return out;
}

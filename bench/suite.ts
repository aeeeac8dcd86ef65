import { join } from "node:path";
import type { EdgeKeys } from "../scripts/local/edge.ts";
import type { BenchOptions } from "./options.ts";
import { NO_PROFILING, profilingUnder } from "./profiling.ts";
import type { BenchRun } from "./result.ts";
import { benchDispatch } from "./sections/dispatch.ts";
import { benchRealAgent } from "./sections/real-agent.ts";
import { benchScale } from "./sections/scale.ts";
import { benchSubmit } from "./sections/submit.ts";
import { benchThroughput } from "./sections/throughput.ts";
import { median, round } from "./stats.ts";

type Memory = { peak_mb: number } | null | undefined;

/** The memory section, gathered from what every other section read while its processes ran. */
function memorySection(run: Pick<BenchRun, "submit" | "dispatch" | "real_agent" | "throughput" | "scale">): BenchRun["memory"] {
  const edges: Memory[] = [
    run.submit?.edge_memory, run.dispatch?.edge_memory, run.real_agent?.edge_memory,
    ...(run.throughput ?? []).map((s) => s.edge_memory), run.scale?.connections.edge_memory, run.scale?.queued.edge_memory,
  ];
  const agents = [run.real_agent?.agent_memory?.peak_mb ?? 0, ...(run.throughput ?? []).map((s) => s.agent_peak_mb)].filter((x) => x > 0);
  const sims = [run.real_agent?.sim_memory?.peak_mb ?? 0, ...(run.throughput ?? []).map((s) => s.sim_peak_mb)].filter((x) => x > 0);
  return {
    edge_workerd_peak_mb: Math.max(0, ...edges.map((m) => m?.peak_mb ?? 0)),
    agent_peak_mb: Math.max(0, ...agents),
    agent_median_peak_mb: agents.length ? median(agents) : 0,
    sim_peak_mb: Math.max(0, ...sims),
    bench_process_peak_mb: round(process.resourceUsage().maxRSS / 1024, 1),
  };
}

/** One whole benchmark run: each section on its own fresh edge, in order. */
export async function runOnce(keys: EdgeKeys, opts: BenchOptions, runIndex: number, progress: (line: string) => void): Promise<BenchRun> {
  const started = new Date();
  const t0 = performance.now();
  const want = (s: (typeof opts.sections)[number]) => opts.sections.includes(s);
  const c = opts.counts;
  const profileRoot = join(opts.outDir, "profiles", `${started.toISOString().replace(/[:.]/g, "-")}-run${runIndex + 1}`);
  const errors: string[] = [];
  /** Runs one section; a section that throws is recorded and left null, and the others still run. */
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    progress(`${name}…`);
    const s = performance.now();
    try {
      const v = await fn();
      progress(`${name}: done in ${((performance.now() - s) / 1000).toFixed(1)} s`);
      return v;
    } catch (e) {
      const text = `${name}: ${e instanceof Error ? e.message : String(e)}`;
      errors.push(text);
      progress(`FAILED ${text}`);
      return null;
    }
  };
  const profiling = opts.cpuProf ? profilingUnder(profileRoot) : null;
  const hooks = profiling ?? NO_PROFILING;
  const submit = want("submit") ? await step("submit", () => benchSubmit(keys, c, hooks)) : null;
  const dispatch = want("dispatch") ? await step("dispatch (protocol agent)", () => benchDispatch(keys, c, hooks)) : null;
  const realAgent = want("real") ? await step("dispatch + notify (real agent)", () => benchRealAgent(keys, c, hooks)) : null;
  const throughput = want("throughput") ? await step("throughput and GPU idle", () => benchThroughput(keys, c, { progress, profiling: hooks })) : null;
  const scale = want("scale") ? await step("scale", () => benchScale(keys, c)) : null;
  const body = { submit, dispatch, real_agent: realAgent, throughput, scale };
  const profiles = profiling?.summaries() ?? [];
  for (const sc of throughput ?? []) if (sc.error) errors.push(`throughput ${sc.agents}/${sc.prefetch}/${sc.render_ms}ms: ${sc.error}`);
  return { started_at: started.toISOString(), seconds: round((performance.now() - t0) / 1000, 1), ...body, memory: memorySection(body), profiles, errors };
}

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/local/edge.ts";

export const SECTIONS = ["submit", "dispatch", "real", "throughput", "scale"] as const;
export type Section = (typeof SECTIONS)[number];

/** How much work each section does; one set per mode. */
export interface Counts {
  submitSequential: number;
  submitConcurrent: number;
  submitters: number;
  dispatchJobs: number;
  /** Jobs per pass (events, then polling) through a real agent. */
  realJobs: number;
  realRenderMs: number;
  throughputAgents: number[];
  throughputRenders: number[];
  throughputPrefetch: number[];
  /** Jobs at 0 ms renders (all agents together). */
  jobsAtZero: number;
  /** Jobs per agent at 100 ms and at 1 s renders. */
  jobsPerAgentAt100: number;
  jobsPerAgentAt1000: number;
  /** A throughput scenario stops after this long; jobs/s then counts the jobs finished so far. */
  scenarioCapSeconds: number;
  scaleConnections: number;
  scaleDispatchJobs: number;
  queuedDepth: number;
  atDepthSamples: number;
  drainAgents: number;
  drainSeconds: number;
}

const FULL: Counts = {
  submitSequential: 500, submitConcurrent: 3000, submitters: 16, dispatchJobs: 200, realJobs: 100, realRenderMs: 50,
  throughputAgents: [1, 2, 8], throughputRenders: [0, 100, 1000], throughputPrefetch: [0, 1],
  jobsAtZero: 1000, jobsPerAgentAt100: 30, jobsPerAgentAt1000: 6, scenarioCapSeconds: 25,
  scaleConnections: 1000, scaleDispatchJobs: 200, queuedDepth: 10_000, atDepthSamples: 200, drainAgents: 4, drainSeconds: 5,
};

const QUICK: Counts = {
  submitSequential: 200, submitConcurrent: 400, submitters: 16, dispatchJobs: 50, realJobs: 10, realRenderMs: 50,
  throughputAgents: [1], throughputRenders: [0, 100], throughputPrefetch: [0, 1],
  jobsAtZero: 100, jobsPerAgentAt100: 10, jobsPerAgentAt1000: 3, scenarioCapSeconds: 5,
  scaleConnections: 200, scaleDispatchJobs: 30, queuedDepth: 1000, atDepthSamples: 30, drainAgents: 2, drainSeconds: 1,
};

const SMOKE: Counts = {
  submitSequential: 10, submitConcurrent: 32, submitters: 4, dispatchJobs: 5, realJobs: 2, realRenderMs: 50,
  throughputAgents: [1], throughputRenders: [0], throughputPrefetch: [1],
  jobsAtZero: 6, jobsPerAgentAt100: 2, jobsPerAgentAt1000: 1, scenarioCapSeconds: 30,
  scaleConnections: 5, scaleDispatchJobs: 3, queuedDepth: 20, atDepthSamples: 3, drainAgents: 1, drainSeconds: 0.5,
};

export interface BenchOptions {
  mode: "smoke" | "quick" | "full";
  runs: number;
  counts: Counts;
  sections: Section[];
  /** Profile agent processes with `node --cpu-prof` and summarize the hottest functions. */
  cpuProf: boolean;
  /** Run agents from this bundle instead of one built from the current source (A/B of the agent alone). */
  agentBundle: string | null;
  /** Also run agents from this bundle, alternating with A in every run (`--compare-agent`). */
  compareAgent: string | null;
  outDir: string;
  /** Print the table (off in tests). */
  quiet: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]
  --quick          small counts, under a minute
  --smoke          a handful of jobs, seconds (the test uses it)
  --runs <n>       repeat the whole benchmark n times; the table shows the median (default 1)
  --only <list>    comma-separated sections: ${SECTIONS.join(",")}
  --agents <list>  throughput agent counts, e.g. 1,2,8 (default by mode)
  --renders <list> throughput render times in ms, e.g. 0,100,1000
  --prefetch <list> throughput prefetch settings, e.g. 0,1
  --cpu-prof       profile agent processes (node --cpu-prof) and the edge (workerd's inspector)
  --agent-bundle <file>  run agents from this bundle (e.g. an older commit's dist/comfy-agent.mjs)
                   against today's edge and sim: compares the agent alone
  --compare-agent <file>  every run measures two agents, A (--agent-bundle, default the
                   current source) and B (this file), in alternating order; prints both
                   side by side (use --runs 5 or more: this machine's noise is ±15 %)
  --out <dir>      where result JSON goes (default bench/results)
  --quiet          no table, only the result file path
  -h, --help       this help`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function intList(flag: string, raw: string | undefined, min: number, max: number): number[] | null {
  if (raw === undefined) return null;
  const xs = raw.split(",").map((x) => x.trim());
  if (xs.some((x) => !/^\d+$/.test(x) || Number(x) < min || Number(x) > max)) {
    throw new UsageError(`--${flag} takes comma-separated whole numbers from ${min} to ${max}, got "${raw}"`);
  }
  return xs.map(Number);
}

export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        quick: { type: "boolean" }, smoke: { type: "boolean" }, runs: { type: "string" }, only: { type: "string" },
        agents: { type: "string" }, renders: { type: "string" }, prefetch: { type: "string" },
        "cpu-prof": { type: "boolean" }, "agent-bundle": { type: "string" }, "compare-agent": { type: "string" }, out: { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  if (values.quick && values.smoke) throw new UsageError("--quick and --smoke exclude each other");
  const mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const runs = values.runs === undefined ? 1 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new UsageError(`--runs must be a whole number from 1 to 20, got "${values.runs}"`);
  const sections = values.only ? values.only.split(",").map((s) => s.trim()).filter(Boolean) : [...SECTIONS];
  const unknown = sections.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length) throw new UsageError(`--only: unknown section(s) ${unknown.join(", ")}; choose from ${SECTIONS.join(", ")}`);
  const agentBundle = values["agent-bundle"] === undefined ? null : resolve(values["agent-bundle"]);
  if (agentBundle !== null && !existsSync(agentBundle)) throw new UsageError(`--agent-bundle: no file ${agentBundle}`);
  const compareAgent = values["compare-agent"] === undefined ? null : resolve(values["compare-agent"]);
  if (compareAgent !== null && !existsSync(compareAgent)) throw new UsageError(`--compare-agent: no file ${compareAgent}`);
  const base = mode === "smoke" ? SMOKE : mode === "quick" ? QUICK : FULL;
  const counts: Counts = {
    ...base,
    throughputAgents: intList("agents", values.agents, 1, 64) ?? base.throughputAgents,
    throughputRenders: intList("renders", values.renders, 0, 60_000) ?? base.throughputRenders,
    throughputPrefetch: intList("prefetch", values.prefetch, 0, 16) ?? base.throughputPrefetch,
  };
  return {
    mode,
    runs,
    counts,
    sections: sections as Section[],
    cpuProf: values["cpu-prof"] ?? false,
    agentBundle,
    compareAgent,
    outDir: values.out ?? join(ROOT, "bench/results"),
    quiet: values.quiet ?? false,
  };
}

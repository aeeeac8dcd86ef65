import Table from "cli-table3";
import { loadavg } from "node:os";
import { randomKeys } from "./bench-edge.ts";
import { agentBundle, useAgentBundle } from "./children.ts";
import type { BenchOptions } from "./options.ts";
import type { BenchResult, BenchRun } from "./result.ts";
import { benchResult, writeResult } from "./run.ts";
import { median } from "./stats.ts";
import { scenarioName } from "./sections/throughput.ts";
import { runOnce } from "./suite.ts";

export type AgentComparison = { a: BenchResult; b: BenchResult };

/**
 * `--compare-agent`: each run measures both agents against a fresh edge and sim, A then B in
 * odd runs and B then A in even ones, so a machine that grows busier during a pair favours
 * neither. A is `--agent-bundle` (default: built from the current source), B the compared bundle.
 */
export async function compareAgents(opts: BenchOptions, other: string, progress: (line: string) => void): Promise<{ comparison: AgentComparison; file: string }> {
  const started = new Date();
  const loadStart = loadavg();
  const keys = randomKeys();
  const a = await agentBundle();
  const runs: Record<"a" | "b", BenchRun[]> = { a: [], b: [] };
  for (let i = 0; i < opts.runs; i++) {
    for (const side of i % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const)) {
      progress(`run ${i + 1} of ${opts.runs}: agent ${side.toUpperCase()}`);
      useAgentBundle(side === "a" ? a : other);
      runs[side].push(await runOnce(keys, opts, i, progress));
    }
  }
  useAgentBundle(a);
  const comparison = { a: benchResult(opts, runs.a, started, loadStart, a), b: benchResult(opts, runs.b, started, loadStart, other) };
  return { comparison, file: writeResult(opts, `bench-compare-${opts.mode}`, started, comparison) };
}

type Figure = { name: string; of: (run: BenchRun) => number | null | undefined; digits: number };

/** The figures an agent changes: the notify path, jobs/s, its CPU per job and its memory. */
function figures(runs: BenchRun[]): Figure[] {
  const list: Figure[] = [
    { name: "notify (events) p50, ms", of: (r) => r.real_agent?.notify_events.p50, digits: 2 },
    { name: "render end → agent's GET /view p50, ms", of: (r) => r.real_agent?.notify_breakdown?.end_to_view_ms, digits: 2 },
    { name: "agent peak RSS (notify runs), MiB", of: (r) => r.real_agent?.agent_memory?.peak_mb, digits: 1 },
  ];
  const scenarios = new Map<string, { agents: number; prefetch: number; render_ms: number }>();
  const nameOf = (s: { agents: number; prefetch: number; render_ms: number }): string => scenarioName(s.agents, s.prefetch, s.render_ms);
  for (const run of runs) for (const s of run.throughput ?? []) scenarios.set(nameOf(s), s);
  for (const [name, s] of scenarios) {
    const label = `${s.agents} agent(s), prefetch ${s.prefetch}, ${s.render_ms} ms renders`;
    const at = (r: BenchRun) => r.throughput?.find((t) => nameOf(t) === name && !t.error);
    list.push(
      { name: `jobs/s, ${label}`, of: (r) => at(r)?.jobs_per_s, digits: 1 },
      { name: `agent CPU ms/job, ${label}`, of: (r) => at(r)?.cpu_ms_per_job.agent, digits: 2 },
      { name: `agent peak RSS, ${label}, MiB`, of: (r) => at(r)?.agent_peak_mb, digits: 1 },
    );
  }
  return list;
}

function cell(runs: BenchRun[], figure: Figure): string {
  const xs = runs.map(figure.of).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  if (xs.length === 0) return "—";
  const each = xs.length > 1 ? ` (${xs.map((x) => x.toFixed(figure.digits)).join(", ")})` : "";
  return `${median(xs).toFixed(figure.digits)}${each}`;
}

/** Medians side by side, every run's figure in brackets (in run order). */
export function comparisonTable({ a, b }: AgentComparison): string {
  const t = new Table({ head: ["", `A: ${a.options.agent_bundle}`, `B: ${b.options.agent_bundle}`] });
  for (const figure of figures([...a.runs, ...b.runs])) {
    const row = [cell(a.runs, figure), cell(b.runs, figure)];
    if (row.some((c) => c !== "—")) t.push([figure.name, ...row]);
  }
  return t.toString();
}

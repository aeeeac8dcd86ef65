import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { randomKeys } from "./bench-edge.ts";
import type { BenchOptions } from "./options.ts";
import { ResultSchema, type BenchResult, type BenchRun } from "./result.ts";
import { medianOfRuns } from "./stats.ts";
import { runOnce } from "./suite.ts";

const NOTES = [
  "Every section starts a fresh edge (workerd via Miniflare, in-memory state) with the rate and queue limits raised.",
  "Agents are real processes run as on rigs (node --max-semi-space-size=1 dist/comfy-agent.mjs, bundled from the current source); each sim is a child process (node sim/bin.ts), one per agent; memory is each process's VmHWM from /proc.",
  "dispatch 202 → job can be negative: the queue pushes the job down the agent's socket before the 202 has reached the client.",
  "notify = the sim's execution end → the client sees SUCCESS with URLs; it includes the agent fetching the image from the sim and uploading it to the edge.",
  "GPU idle = Σ gaps between consecutive executions / Σ (first start → last end) per sim, with every job submitted up front (a backlog throughout).",
  "Cross-process times are epoch ms from performance.timeOrigin + performance.now() in each process.",
];

function machine(loadStart: number[]): BenchResult["machine"] {
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? "unknown",
    load_average_start: loadStart,
    load_average_end: loadavg(),
    total_memory_mb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Runs the benchmark `opts.runs` times, writes the result JSON and returns it with its path. */
export async function runBench(opts: BenchOptions, progress: (line: string) => void): Promise<{ result: BenchResult; file: string }> {
  const started = new Date();
  const loadStart = loadavg();
  const keys = randomKeys();
  const runs: BenchRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    if (opts.runs > 1) progress(`run ${i + 1} of ${opts.runs}`);
    runs.push(await runOnce(keys, opts, i, progress));
  }
  const result = benchResult(opts, runs, started, loadStart, opts.agentBundle);
  return { result, file: writeResult(opts, `bench-${opts.mode}`, started, result) };
}

/** The runs of one agent, with their medians, as the result JSON holds them. */
export function benchResult(opts: BenchOptions, runs: BenchRun[], started: Date, loadStart: number[], agentBundle: string | null): BenchResult {
  return ResultSchema.parse({
    version: 1,
    mode: opts.mode,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    machine: machine(loadStart),
    options: { runs: opts.runs, sections: opts.sections, cpu_prof: opts.cpuProf, agent_bundle: agentBundle, counts: opts.counts },
    notes: NOTES,
    runs,
    median: { ...medianOfRuns(runs), errors: runs.flatMap((r) => r.errors), profiles: runs.flatMap((r) => r.profiles) },
  });
}

/** Writes `value` as `<prefix>-<started>.json` in the output folder; returns its path. */
export function writeResult(opts: BenchOptions, prefix: string, started: Date, value: unknown): string {
  mkdirSync(opts.outDir, { recursive: true });
  const file = join(opts.outDir, `${prefix}-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
  return file;
}

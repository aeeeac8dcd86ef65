#!/usr/bin/env node
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import { ROOT } from "../scripts/local/edge.ts";
import { parseOptions, USAGE, UsageError, type BenchOptions } from "./options.ts";
import { headlineTable, profileText, scenarioTable } from "./report.ts";
import { useAgentBundle } from "./children.ts";
import { compareAgents, comparisonTable } from "./compare.ts";
import { runBench } from "./run.ts";

/** The profiles worth a screen: submit, the notify path, and one agent at 0 ms renders (pure overhead). */
const PRINTED_PROFILES = (scenario: string): boolean => scenario === "submit" || scenario === "real-agent" || /^agents1-prefetch\d-render0ms$/.test(scenario);

async function main(): Promise<number> {
  let opts: BenchOptions | "help";
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  const o = opts;
  if (o.agentBundle) useAgentBundle(o.agentBundle);
  const progress = (line: string): void => {
    if (!o.quiet) console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  };
  if (o.agentBundle) progress(`agents run ${relative(ROOT, o.agentBundle)}`);
  progress(`mode ${o.mode}, ${o.runs} run(s), load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} on ${cpus().length} CPUs`);
  if (o.compareAgent) {
    const { comparison, file } = await compareAgents(o, o.compareAgent, progress);
    const errors = [...comparison.a.median.errors, ...comparison.b.median.errors];
    if (!o.quiet) {
      console.log(`agents compared, median of ${o.runs} run(s) each, alternated (every run's figure in brackets)\n${comparisonTable(comparison)}`);
      for (const e of errors) console.log(`ERROR ${e}`);
      console.log(`\nresult: ${relative(ROOT, file)}`);
    } else console.log(file);
    return errors.length ? 1 : 0;
  }
  const { result, file } = await runBench(o, progress);
  if (!o.quiet) {
    console.log(headlineTable(result));
    console.log("* the original's dispatch figure is 202 → worker sends the prompt to ComfyUI.");
    if (result.median.throughput?.length) console.log(`\nthroughput and GPU idle (median of ${result.runs.length} run(s))\n${scenarioTable(result.median)}`);
    if (result.median.profiles.length) {
      console.log(`\nCPU profiles (self time, idle excluded; every scenario's summary is in the JSON)\n${profileText(result.median, 12, PRINTED_PROFILES)}`);
    }
    for (const e of result.median.errors) console.log(`ERROR ${e}`);
    console.log(`\nload average ${result.machine.load_average_start.map((x) => x.toFixed(2)).join(" ")} → ${result.machine.load_average_end.map((x) => x.toFixed(2)).join(" ")}; result: ${relative(ROOT, file)}`);
  } else console.log(file);
  return result.median.errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);

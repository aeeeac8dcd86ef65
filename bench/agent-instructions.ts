#!/usr/bin/env node
/**
 * Instructions per job of the agent, counted by valgrind (cachegrind, no cache simulation):
 * unlike CPU time, a count barely moves with what else the machine runs, so two agents can be
 * compared on a shared, noisy machine. Each sample runs one agent under valgrind against a fresh
 * local edge and sim (0 ms renders) for a small and a large batch of jobs, each run the same
 * window of time from its connection on; the difference divided by the difference in jobs leaves
 * out start-up and the agent's timed work.
 *
 *   node bench/agent-instructions.ts [--bundle <file>]... [--jobs 20,220] [--repeat 3] [--prefetch 1] [--window-s 60]
 *
 * Without --bundle it counts the agent built from the current source.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildAgentBundle } from "../scripts/agent-bundle.ts";
import { randomKeys, withEdge } from "./bench-edge.ts";
import { startAgentChild, startSimChild, type SimChild } from "./children.ts";
import { sleep, waitFor } from "./clock.ts";
import { submitConcurrently } from "./sections/submit.ts";
import { median } from "./stats.ts";

export type InstructionCount = { bundle: string; small: number; large: number; perJob: number[] };

const USAGE = "Usage: node bench/agent-instructions.ts [--bundle <file>]... [--jobs <small>,<large>] [--repeat <n>] [--prefetch <n>] [--window-s <s>]";

/** Whether valgrind can run here (it is on Debian's images; `apt-get install valgrind` elsewhere). */
export function hasValgrind(): boolean {
  return spawnSync("valgrind", ["--version"], { stdio: "ignore" }).status === 0;
}

/** Instructions the agent process ran (valgrind's `I refs`) for `jobs` jobs, start-up and shutdown included. */
async function countRun(bundle: string, sim: SimChild, jobs: number, prefetch: number, windowMs: number): Promise<number> {
  const keys = randomKeys();
  const scratch = mkdtempSync(join(tmpdir(), "agent-instructions-"));
  try {
    const { value } = await withEdge(keys, { clientSockets: 4 }, async (edge) => {
      const launcher = ["valgrind", "--tool=cachegrind", "--cache-sim=no", `--cachegrind-out-file=${join(scratch, "cachegrind.out")}`, "--smc-check=all-non-file"];
      const agent = await startAgentChild("counted", { edgeUrl: edge.url, token: keys.agent, comfyUrl: sim.url, stateDir: join(scratch, "state"), prefetch, bundle, launcher });
      try {
        await waitFor(async () => (await edge.client.connectedAgents()).length === 1, "the agent under valgrind to connect", 300_000, 250);
        const windowEnd = performance.now() + windowMs;
        const sent = await submitConcurrently(edge.client, jobs, 4, { steps: 1 });
        if (sent.non202 > 0) throw new Error(`${sent.non202} submissions were refused`);
        await waitFor(async () => {
          const s = await edge.client.jobsByState();
          return (s.succeeded ?? 0) + (s.failed ?? 0) >= jobs;
        }, `${jobs} jobs to finish`, 600_000, 250);
        const failed = (await edge.client.jobsByState()).failed ?? 0;
        if (failed > 0) throw new Error(`${failed} of ${jobs} jobs failed`);
        // Every run lasts the same window: the agent's timed work (heartbeats, ComfyUI probes,
        // inventory reads) is then the same in both runs and cancels out of the difference.
        const left = windowEnd - performance.now();
        if (left < 0) throw new Error(`${jobs} jobs took ${Math.round(windowMs - left)} ms under valgrind, past the ${windowMs} ms window: raise --window-s`);
        await sleep(left);
      } finally {
        await agent.stop(60_000);
      }
      const refs = /I\s+refs:\s+([\d,]+)/.exec(agent.tail())?.[1];
      if (!refs) throw new Error(`valgrind printed no instruction count:\n${agent.tail()}`);
      return Number(refs.replace(/,/g, ""));
    });
    return value;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `repeat` samples of instructions per job for each bundle, bundles alternated. */
export async function countInstructions(bundles: string[], opts: { small: number; large: number; repeat: number; prefetch: number; windowMs: number; progress?: (line: string) => void }): Promise<InstructionCount[]> {
  const sim = await startSimChild("agent-instructions-sim", 0);
  const results = bundles.map((bundle) => ({ bundle, small: opts.small, large: opts.large, perJob: [] as number[] }));
  try {
    for (let r = 0; r < opts.repeat; r++) {
      for (const result of results) {
        const small = await countRun(result.bundle, sim, opts.small, opts.prefetch, opts.windowMs);
        const large = await countRun(result.bundle, sim, opts.large, opts.prefetch, opts.windowMs);
        result.perJob.push((large - small) / (opts.large - opts.small));
        opts.progress?.(`${result.bundle}: sample ${r + 1}: ${(result.perJob.at(-1)! / 1e6).toFixed(2)} M instructions per job`);
      }
    }
  } finally {
    await sim.stop();
  }
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { bundle: { type: "string", multiple: true }, jobs: { type: "string" }, repeat: { type: "string" }, prefetch: { type: "string" }, "window-s": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [small, large] = (values.jobs ?? "20,220").split(",").map(Number);
  const repeat = Number(values.repeat ?? "3");
  const prefetch = Number(values.prefetch ?? "1");
  const windowS = Number(values["window-s"] ?? "60");
  if (!Number.isInteger(small) || !Number.isInteger(large) || small! < 1 || large! <= small! || !Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(prefetch) || prefetch < 0 || !(windowS > 0)) {
    console.error(`agent-instructions: --jobs takes two whole numbers, small < large; --repeat ≥ 1; --prefetch ≥ 0; --window-s > 0\n${USAGE}`);
    return 2;
  }
  if (!hasValgrind()) {
    console.error("agent-instructions: valgrind is not installed (apt-get install valgrind)");
    return 2;
  }
  const bundles = values.bundle?.length ? values.bundle : [await buildAgentBundle(join(mkdtempSync(join(tmpdir(), "agent-bundle-")), "comfy-agent.mjs"))];
  const results = await countInstructions(bundles, { small: small!, large: large!, repeat, prefetch, windowMs: windowS * 1000, progress: (l) => console.error(l) });
  for (const r of results) {
    const m = (x: number): string => `${(x / 1e6).toFixed(2)} M`;
    console.log(`${r.bundle}\n  instructions per job (jobs ${r.small} → ${r.large}, prefetch ${prefetch}): min ${m(Math.min(...r.perJob))}, median ${m(median(r.perJob))}, samples ${r.perJob.map(m).join(", ")}`);
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();

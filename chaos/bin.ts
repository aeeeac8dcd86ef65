#!/usr/bin/env node
import { numericFlags, runCli } from "./args.ts";
import { formatChaosReport } from "./report.ts";
import { DEFAULT_CHAOS, runChaos } from "./run.ts";

const USAGE = `npm run chaos -- [--jobs N] [--agents N] [--seed N] [--deadline SECONDS] [--restarts N]

Runs N jobs through the local stack (edge in workerd, agents, ComfyUI stand-ins) while the
stand-ins inject faults (5% errors, 2% crashes, 2% hangs), agents are killed, drained and
restarted, their links cut, and the edge restarted over its persisted state. Gray faults
too: one rig is broken (its ComfyUI fails every prompt with a CUDA error), an extra rig's
agent process is frozen (SIGSTOP) and resumed, a healthy rig's link goes half-open (bytes
dropped, no close), and most webhooks go to a receiver that answers after 15 s or to a dead
one while another owner's go to a prompt one. Then checks that no job was lost or succeeded
twice and that R2 holds exactly the outputs of the successes, and prints per gray fault the
jobs it touched and how they ended. Exits 1 on any violation.

  --jobs N          jobs to run (default 1000)
  --agents N        agents (rigs) (default 4)
  --seed N          seed for the faults and the monkey (default 1)
  --deadline S      stop after S seconds; jobs not terminal by then count as lost (default 60 + 0.6 s per job)
  --restarts N      edge restarts over persisted state (default 2)
`;

async function main(): Promise<number> {
  const flags = numericFlags(process.argv.slice(2), ["jobs", "agents", "seed", "deadline", "restarts"] as const, USAGE);
  const jobs = Math.floor(flags.jobs ?? 1000);
  const agents = Math.max(1, Math.floor(flags.agents ?? 4));
  const deadlineS = flags.deadline ?? 60 + jobs * 0.6;
  console.log(`chaos: ${jobs} jobs, ${agents} agents, seed ${flags.seed ?? DEFAULT_CHAOS.seed}, deadline ${deadlineS} s`);
  const report = await runChaos({
    ...DEFAULT_CHAOS,
    jobs,
    agents,
    deadlineMs: deadlineS * 1000,
    ...(flags.seed !== undefined ? { seed: Math.floor(flags.seed) } : {}),
    ...(flags.restarts !== undefined ? { edgeRestarts: Math.floor(flags.restarts) } : {}),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(formatChaosReport(report));
  console.log(report.violations.length === 0 ? "chaos: OK, every guarantee held" : `chaos: FAILED, ${report.violations.length} violation(s)`);
  return report.violations.length === 0 ? 0 : 1;
}

runCli("chaos", main);

#!/usr/bin/env node
import { numericFlags, runCli, UsageError } from "./args.ts";
import { formatSoakReport, runSoak } from "./soak-run.ts";

const USAGE = `npm run soak -- [--minutes M] [--agents N] [--rate R] [--backlog B] [--sample S]

A steady load through the whole local stack (edge in workerd, agent processes, ComfyUI
stand-ins, R2, signed downloads) for M minutes. The resident memory (VmRSS) of the workerd
runtime and of each agent process is sampled every S seconds; the report gives each one's
growth per hour from a least-squares line. Exits 1 if jobs are left unfinished or failed.

  --minutes M   how long to load the stack (default 10; 0.5 for a quick try)
  --agents N    agent processes, each with its own ComfyUI stand-in (default 2)
  --rate R      submissions per second (default 3)
  --backlog B   most unfinished jobs at once (default 30)
  --sample S    seconds between memory samples (default 10, or less for runs under a minute)
`;

async function main(): Promise<number> {
  const f = numericFlags(process.argv.slice(2), ["minutes", "agents", "rate", "backlog", "sample"] as const, USAGE);
  const minutes = f.minutes ?? 10;
  if (minutes <= 0) throw new UsageError(`--minutes must be above 0\n\n${USAGE}`);
  const sampleEveryS = f.sample ?? Math.min(10, (minutes * 60) / 6);
  console.log(`soak: ${minutes} min, ${f.agents ?? 2} agents, ${f.rate ?? 3} jobs/s, memory every ${sampleEveryS} s`);
  const report = await runSoak({
    minutes,
    agents: Math.max(1, Math.floor(f.agents ?? 2)),
    rate: Math.max(0.1, f.rate ?? 3),
    backlog: Math.max(1, Math.floor(f.backlog ?? 30)),
    sampleEveryS,
    warmupS: Math.min(60, minutes * 60 * 0.2),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(formatSoakReport(report));
  const ok = report.unfinished === 0 && report.failed === 0;
  console.log(ok ? "soak: OK" : "soak: FAILED (jobs failed or left unfinished)");
  return ok ? 0 : 1;
}

runCli("soak", main);

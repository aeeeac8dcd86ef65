import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startLocalEdge } from "../scripts/local/edge.ts";
import { startSim, type Sim } from "../sim/server.ts";
import { EdgeClient } from "./edge-client.ts";
import { linearFit } from "./fit.ts";
import { childrenNamed, MemorySampler, type MemorySeries } from "./memory.ts";
import { sleep } from "./random.ts";

export interface SoakOptions {
  minutes: number;
  agents: number;
  /** Submissions per second (held back while `backlog` jobs are unfinished). */
  rate: number;
  backlog: number;
  sampleEveryS: number;
  /** Samples before this many seconds are shown but left out of the growth fit (start-up, JIT, caches filling). */
  warmupS: number;
  log?: (line: string) => void;
}

export interface ProcessMemory {
  name: string;
  pid: number;
  samples: number;
  firstMb: number;
  lastMb: number;
  maxMb: number;
  /** Slope of the least-squares line through the samples after the warm-up, in MiB per hour. */
  growthMbPerHour: number;
  r2: number;
}

export interface SoakReport {
  durationS: number;
  warmupS: number;
  submitted: number;
  succeeded: number;
  failed: number;
  /** Not terminal after the final drain. */
  unfinished: number;
  /** Outputs downloaded through their signed links, and their bytes. */
  downloads: number;
  downloadedBytes: number;
  memory: ProcessMemory[];
}

function summarize(s: MemorySeries, warmupS: number): ProcessMemory {
  const ys = s.samples.map(([, mb]) => mb);
  const settled = s.samples.filter(([t]) => t >= warmupS);
  const fit = linearFit((settled.length >= 2 ? settled : s.samples).map(([t, mb]) => ({ x: t / 3600, y: mb })));
  return {
    name: s.name, pid: s.pid, samples: s.samples.length, firstMb: ys[0] ?? 0, lastMb: ys.at(-1) ?? 0, maxMb: Math.max(0, ...ys),
    growthMbPerHour: fit.slope, r2: fit.r2,
  };
}

/**
 * A steady load through the whole stack (client → edge in workerd → agent processes →
 * ComfyUI stand-ins → R2 → signed downloads) for `minutes`, sampling the resident memory
 * of the workerd runtime and of each agent process, then fitting growth per hour.
 */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {});
  const key = (role: string) => `soak_${role}_${randomBytes(12).toString("base64url")}`;
  const keys = { client: key("client"), agent: key("agent"), admin: key("admin") };
  // State on disk, as in production: what the runtime holds in memory is then the runtime's own, not stored jobs and images.
  const persistDir = mkdtempSync(join(tmpdir(), "soak-edge-"));
  const edge = await startLocalEdge({ keys, persistDir, vars: { RATE_LIMIT_PER_MIN: "1000000", MAX_QUEUED_PER_KEY: "1000000" } });
  const sims: Sim[] = [];
  const children: ChildProcess[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), "soak-agents-"));
  const memory = new MemorySampler();
  const client = new EdgeClient(edge.url, keys);
  const pending: { id: string; checkAfter: number }[] = [];
  const r = { submitted: 0, succeeded: 0, failed: 0, downloads: 0, downloadedBytes: 0 };

  try {
    for (const pid of childrenNamed(process.pid, "workerd")) memory.track("edge (workerd)", pid);
    for (let i = 0; i < o.agents; i++) {
      const sim = await startSim({ port: 0, stepMs: 20 });
      sims.push(sim);
      const child = spawn(process.execPath, [join(ROOT, "agent/bin.ts"), "--edge", edge.url, "--comfyui", sim.url, "--name", `soak-${i}`, "--state-dir", stateDir, "--log-level", "error"], {
        env: { ...process.env, AGENT_TOKEN: keys.agent },
        stdio: ["ignore", "inherit", "inherit"],
      });
      children.push(child);
      if (child.pid) memory.track(`agent ${i}`, child.pid);
    }
    memory.track("harness (client + sims)", process.pid);
    await waitForAgents(o.agents, keys.admin, edge.url);
    memory.restartClock();
    const started = Date.now();
    const endAt = started + o.minutes * 60_000;

    /** Reads a task once it should be done; a success has its first output downloaded through the signed link. */
    const checkDue = async (now: number) => {
      for (let i = pending.length - 1; i >= 0; i--) {
        const p = pending[i]!;
        if (p.checkAfter > now) continue;
        const view = await client.task(p.id, Date.now() + 30_000);
        if (view?.status === "SUCCESS") {
          const res = await fetch(view.result!.download_url);
          r.downloadedBytes += (await res.arrayBuffer()).byteLength;
          if (res.ok) r.downloads++;
          r.succeeded++;
        } else if (view?.status === "FAILURE" || view?.status === "CANCELLED" || view === null) r.failed++;
        else {
          p.checkAfter = now + 2000;
          continue;
        }
        pending.splice(i, 1);
      }
    };

    let nextSample = 0;
    let nextSubmit = Date.now();
    let lastLog = 0;
    while (Date.now() < endAt) {
      const now = Date.now();
      if (now >= nextSample) {
        memory.sample();
        nextSample = now + o.sampleEveryS * 1000;
      }
      if (now >= nextSubmit && pending.length < o.backlog) {
        const id = await client.submit({ workflow_id: "sd15_basic", params: { prompt: `soak ${r.submitted}`, width: 64, height: 64, steps: 8 } }, `soak-${started}-${r.submitted}`, now + 30_000);
        r.submitted++;
        pending.push({ id, checkAfter: now + 1000 });
        nextSubmit += 1000 / o.rate;
        if (nextSubmit < now - 1000) nextSubmit = now; // fell behind (backlog full): do not burst afterwards
      }
      await checkDue(now);
      if (now - lastLog > 15_000) {
        lastLog = now;
        const edgeMb = memory.series[0]?.samples.at(-1)?.[1];
        log(`t=${Math.round((now - started) / 1000)}s submitted ${r.submitted} ok ${r.succeeded} failed ${r.failed} in flight ${pending.length}${edgeMb ? ` | workerd ${edgeMb.toFixed(0)} MiB` : ""}`);
      }
      await sleep(Math.max(5, Math.min(100, nextSubmit - Date.now())));
    }
    memory.sample();
    const drainUntil = Date.now() + 60_000;
    while (pending.length > 0 && Date.now() < drainUntil) {
      await checkDue(Date.now());
      await sleep(250);
    }
    return {
      durationS: (Date.now() - started) / 1000,
      warmupS: o.warmupS,
      ...r,
      unfinished: pending.length,
      memory: memory.series.filter((s) => s.samples.length > 0).map((s) => summarize(s, o.warmupS)),
    };
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
      setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
    })));
    await Promise.all(sims.map((s) => s.close()));
    await edge.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(persistDir, { recursive: true, force: true });
  }
}

async function waitForAgents(n: number, adminKey: string, url: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const res = await fetch(`${url}/agents`, { headers: { authorization: `Bearer ${adminKey}` } }).catch(() => null);
    const agents = res?.ok ? ((await res.json()) as { agents: { connected: boolean }[] }).agents : [];
    if (agents.filter((a) => a.connected).length >= n) return;
    await sleep(200);
  }
  throw new Error(`only some of the ${n} agents connected within 60 s`);
}

export function formatSoakReport(r: SoakReport): string {
  const lines = [
    `duration: ${r.durationS.toFixed(0)} s (growth fitted after a ${r.warmupS.toFixed(0)} s warm-up; short runs extrapolate little data)`,
    `jobs: submitted ${r.submitted}, succeeded ${r.succeeded}, failed ${r.failed}, unfinished ${r.unfinished} (${(r.succeeded / r.durationS).toFixed(2)} jobs/s)`,
    `downloads: ${r.downloads} outputs, ${(r.downloadedBytes / 1024 / 1024).toFixed(1)} MiB through signed links`,
    "memory (VmRSS):",
    ...r.memory.map(
      (m) =>
        `  ${m.name.padEnd(26)} pid ${String(m.pid).padEnd(7)} ${String(m.samples).padStart(3)} samples  first ${m.firstMb.toFixed(1)} MiB  last ${m.lastMb.toFixed(1)} MiB  max ${m.maxMb.toFixed(1)} MiB  growth ${m.growthMbPerHour >= 0 ? "+" : ""}${m.growthMbPerHour.toFixed(1)} MiB/h (R² ${m.r2.toFixed(2)})`,
    ),
  ];
  return lines.join("\n");
}

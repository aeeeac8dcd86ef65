import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/local/edge.ts";
import { buildAgentBundle } from "../scripts/agent-bundle.ts";
import { ResultSchema, type BenchRun } from "./result.ts";
import type { Latency } from "./stats.ts";

const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(...extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "bench/bin.ts"), "--smoke", "--quiet", "--out", out, ...extra], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const measured = (l: Latency) => expect(l.n, JSON.stringify(l)).toBeGreaterThan(0);

/**
 * The "other" agent: the current bundle (`real`) behind a first line that appends `line` to
 * `marker` at each start, so a run shows which file ran, and how often.
 */
async function markedAgent(line: string): Promise<{ dir: string; real: string; other: string; marker: string }> {
  const dir = mkdtempSync(join(tmpdir(), "bench-other-agent-"));
  const real = await buildAgentBundle(join(dir, "comfy-agent.mjs"));
  const marker = join(dir, "started");
  const other = join(dir, "other-agent.mjs");
  writeFileSync(other, `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(marker)}, ${JSON.stringify(`${line}\n`)});\nawait import(${JSON.stringify(real)});\n`);
  return { dir, real, other, marker };
}

describe("npm run bench -- --smoke", () => {
  it("runs every section against the real stack and writes a well-formed result", async () => {
    const { code, stdout, stderr } = await runSmoke();
    expect(code, stderr.slice(-2000)).toBe(0);
    const file = stdout.trim().split("\n").at(-1)!;
    expect(file.startsWith(out)).toBe(true);
    const result = ResultSchema.parse(JSON.parse(readFileSync(file, "utf8")));
    expect(result.mode).toBe("smoke");
    expect(result.runs).toHaveLength(1);
    for (const run of [result.runs[0]!, result.median] as BenchRun[]) {
      expect(run.errors).toEqual([]);
      measured(run.submit!.sequential);
      measured(run.submit!.concurrent.latency);
      expect(run.submit!.concurrent.non_202).toBe(0);
      measured(run.dispatch!.protocol_client);
      expect(run.dispatch!.protocol_problems).toEqual([]);
      expect(run.scale!.connections.protocol_problems).toEqual([]);
      expect(run.scale!.queued.protocol_problems).toEqual([]);
      measured(run.real_agent!.dispatch_to_sim);
      measured(run.real_agent!.notify_events);
      measured(run.real_agent!.notify_polling);
      expect(run.throughput!.length).toBeGreaterThan(0);
      for (const s of run.throughput!) {
        expect(s.error).toBeNull();
        expect(s.succeeded).toBe(s.jobs);
        expect(s.jobs_per_s).toBeGreaterThan(0);
        expect(s.gpu_idle_fraction).toBeGreaterThanOrEqual(0);
        expect(s.gpu_idle_fraction).toBeLessThanOrEqual(1);
      }
      expect(run.scale!.connections.connected).toBe(run.scale!.connections.agents);
      measured(run.scale!.connections.dispatch);
      expect(run.scale!.queued.depth).toBeGreaterThan(0);
      measured(run.scale!.queued.submit_at_depth);
      measured(run.scale!.queued.get_at_depth);
      expect(run.scale!.queued.drained).toBeGreaterThan(0);
      expect(run.memory.edge_workerd_peak_mb).toBeGreaterThan(0);
      expect(run.memory.agent_peak_mb).toBeGreaterThan(0);
      expect(run.memory.sim_peak_mb).toBeGreaterThan(0);
    }
  }, 300_000);

  it("runs its agents from the bundle --agent-bundle names (another commit's agent against this edge)", async () => {
    const { dir, other, marker } = await markedAgent("agent");
    try {
      const { code, stdout, stderr } = await runSmoke("--only", "real", "--agent-bundle", other);
      expect(code, stderr.slice(-2000)).toBe(0);
      const result = ResultSchema.parse(JSON.parse(readFileSync(stdout.trim().split("\n").at(-1)!, "utf8")));
      expect(result.median.errors).toEqual([]);
      measured(result.median.real_agent!.notify_events);
      expect(existsSync(marker) ? readFileSync(marker, "utf8") : "").toBe("agent\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("--compare-agent measures both agents in every run, alternating which goes first, and writes both", async () => {
    const { dir, real, other, marker } = await markedAgent("B");
    try {
      const { code, stdout, stderr } = await runSmoke("--only", "real", "--runs", "2", "--agent-bundle", real, "--compare-agent", other);
      expect(code, stderr.slice(-2000)).toBe(0);
      const file = stdout.trim().split("\n").at(-1)!;
      expect(file).toMatch(/bench-compare-smoke-.*\.json$/);
      const { a, b } = JSON.parse(readFileSync(file, "utf8")) as { a: unknown; b: unknown };
      const [resultA, resultB] = [ResultSchema.parse(a), ResultSchema.parse(b)];
      expect([resultA.options.agent_bundle, resultB.options.agent_bundle]).toEqual([real, other]);
      for (const result of [resultA, resultB]) {
        expect(result.runs).toHaveLength(2);
        expect(result.median.errors).toEqual([]);
        for (const run of result.runs) measured(run.real_agent!.notify_events);
      }
      expect(readFileSync(marker, "utf8")).toBe("B\nB\n");
      const at = (run: BenchRun | undefined) => Date.parse(run!.started_at);
      // A then B in the first run, B then A in the second.
      expect(at(resultA.runs[0]) < at(resultB.runs[0]) && at(resultB.runs[1]) < at(resultA.runs[1])).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

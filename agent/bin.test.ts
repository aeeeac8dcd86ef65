import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, expect, test } from "vitest";
import { startSim } from "../sim/server.ts";
import { EXIT_CODES } from "./cli-error.ts";
import { startEdgeUnderTest } from "./testing/real-edge.ts";
import { until } from "./testing/until.ts";

const BIN = resolve(import.meta.dirname, "bin.ts");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function runBin(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, exited, out: () => stdout, err: () => stderr };
}

test("--help prints usage and exits 0; a missing token exits with the config code", async () => {
  const help = runBin(["--help"]);
  expect(await help.exited).toBe(0);
  expect(help.out()).toContain("--prefetch");
  const missing = runBin(["--edge", "http://127.0.0.1:1", "--comfyui", "http://127.0.0.1:2"]);
  expect(await missing.exited).toBe(EXIT_CODES.config);
  expect(missing.err()).toContain("missing --token (or AGENT_TOKEN)");
  const bad = runBin(["--nope"]);
  expect(await bad.exited).toBe(EXIT_CODES.usage);
});

test("SIGTERM drains: the agent pauses, fails its running job retryable after the grace, closes and exits 0, logging JSON lines", async () => {
  const edge = await startEdgeUnderTest();
  cleanups.push(() => edge.close());
  const sim = await startSim({ port: 0, stepMs: 2, faults: { hangRate: 1, seed: 1 } });
  cleanups.push(() => sim.close());
  const state = await mkdtemp(join(tmpdir(), "agent-bin-"));
  cleanups.push(() => rm(state, { recursive: true, force: true }));
  const agent = runBin(["--name", "bin-test", "--state-dir", state, "--grace", "200ms"], { EDGE_URL: edge.edge.url, AGENT_TOKEN: edge.keys.agent, COMFYUI_URL: sim.url });
  const id = await edge.submit();
  await edge.waitFor(id, (t) => t.status === "PROGRESS", "running on the spawned agent");
  agent.child.kill("SIGTERM");
  expect(await agent.exited).toBe(0);
  // Paused first, the agent was not offered the job again after failing it.
  expect(await edge.task(id)).toMatchObject({ state: "queued", attempts: 1, error: { code: "agent_shutdown" } });
  await until("the edge forgot the agent", async () => !(await edge.agents()).some((a) => a.name === "bin-test"));
  const lines = agent.out().trim().split("\n").map((l) => JSON.parse(l) as { msg: string; level: string });
  expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["draining", "stopped"]));
});

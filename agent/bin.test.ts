import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, expect, test } from "vitest";
import { startSim } from "../sim/server.ts";
import { EXIT_CODES } from "./cli-error.ts";
import { startEdgePeer } from "./testing/edge-peer.ts";
import { CHECKPOINT } from "./testing/graphs.ts";
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

test("SIGTERM drains: the agent pauses, closes and exits 0, logging JSON lines", async () => {
  const sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] } });
  cleanups.push(() => sim.close());
  const edge = await startEdgePeer({ token: "tok" });
  cleanups.push(edge.close);
  const state = await mkdtemp(join(tmpdir(), "agent-bin-"));
  cleanups.push(() => rm(state, { recursive: true, force: true }));
  const agent = runBin(["--name", "bin-test", "--state-dir", state], { EDGE_URL: edge.url, AGENT_TOKEN: "tok", COMFYUI_URL: sim.url });
  await until("hello", () => edge.hellos.length === 1);
  agent.child.kill("SIGTERM");
  expect(await agent.exited).toBe(0);
  expect(edge.of("pause")).toHaveLength(1);
  const lines = agent.out().trim().split("\n").map((l) => JSON.parse(l) as { msg: string; level: string });
  expect(lines.map((l) => l.msg)).toContain("stopped");
});

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { startAgent } from "./main.ts";
import { startEdgeUnderTest, TEST_TUNING } from "./testing/real-edge.ts";
import { until } from "./testing/until.ts";

const SIM_BIN = resolve(import.meta.dirname, "../sim/bin.ts");
const AGENT_BIN = resolve(import.meta.dirname, "bin.ts");

/** A ComfyUI checkout whose main.py becomes the sim (same pid), so --launch runs end to end without a GPU. */
function mainPy(): string {
  return `
import os, sys
port = sys.argv[sys.argv.index("--port") + 1]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pids"), "a") as f:
    f.write(f"{os.getpid()}\\n")
node = ${JSON.stringify(process.execPath)}
os.execv(node, [node, ${JSON.stringify(SIM_BIN)}, "--port", port, "--step-ms", "2", "--hang-rate", "1", "--seed", "1"])
`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

test("--launch: ComfyUI dies mid-job, the job goes back without using an attempt, ComfyUI comes back and runs it, and stop leaves nothing behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "launch-comfy-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "main.py"), mainPy());
  const edge = await startEdgeUnderTest();
  cleanups.push(() => edge.close());
  const agent = await startAgent(
    {
      edgeUrl: edge.edge.url,
      token: edge.keys.agent,
      launch: { dir, python: "python3", gpu: null },
      agentId: "agt_launch_test",
      stateDir: join(dir, "state"),
      graceMs: 100,
      tuning: { ...TEST_TUNING, launchReadyMs: 30_000 },
    },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => agent.kill());
  await agent.connectedOnce();
  expect((await edge.agent(agent.id))?.inventory.checkpoints?.length).toBeGreaterThan(0);

  const id = await edge.submit();
  await edge.waitFor(id, (t) => t.status === "PROGRESS", "running");
  const [firstPid] = (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").map(Number);
  process.kill(firstPid as number, "SIGKILL");
  // The rig's fault: handed back (not failed), paused until ComfyUI's restart answers, then taken again.
  expect(await edge.waitFor(id, (t) => t.state === "queued", "handed back", 20_000)).toMatchObject({ attempts: 0, error: null });
  const retried = await edge.waitFor(id, (t) => t.attempts === 1 && t.status === "PROGRESS", "running again", 40_000);
  expect(retried.error).toBeNull();
  expect((await readFile(join(dir, "pids"), "utf8")).trim().split("\n")).toHaveLength(2);

  await agent.stop();
  const pids = (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").map(Number);
  expect(pids.filter(alive)).toEqual([]);
  expect(await edge.task(id)).toMatchObject({ state: "queued", attempts: 1, error: { code: "agent_shutdown" } });
});

test("kill -9 of a --launch agent leaves its ComfyUI running; the next agent of that id stops it before launching its own", async () => {
  const dir = await mkdtemp(join(tmpdir(), "launch-comfy-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "main.py"), mainPy());
  const stateDir = join(dir, "state");
  const edge = await startEdgeUnderTest();
  cleanups.push(() => edge.close());
  const readPids = async () => (await readFile(join(dir, "pids"), "utf8").catch(() => "")).trim().split("\n").filter(Boolean).map(Number);

  const first = spawn(process.execPath, [AGENT_BIN, "--edge", edge.edge.url, "--launch", dir, "--python", "python3", "--state-dir", stateDir, "--name", "kill-rig", "--log-level", "silent"], {
    env: { ...process.env, AGENT_TOKEN: edge.keys.agent },
    stdio: "ignore",
  });
  cleanups.push(async () => void first.kill("SIGKILL"));
  const agentId = async () => (await readFile(join(stateDir, "agent-kill-rig.id"), "utf8").catch(() => "")).trim();
  await until("the first agent connected", async () => (await agentId()) !== "" && (await edge.agent(await agentId()))?.connected === true, 30_000);
  const [orphan] = await readPids();
  expect(alive(orphan as number)).toBe(true);

  first.kill("SIGKILL");
  await new Promise((r) => first.once("exit", r));
  // As the issue saw it: ComfyUI outlives the killed agent.
  expect(alive(orphan as number)).toBe(true);

  const second = await startAgent(
    { edgeUrl: edge.edge.url, token: edge.keys.agent, launch: { dir, python: "python3", gpu: null }, name: "kill-rig", stateDir, tuning: { ...TEST_TUNING, launchReadyMs: 30_000 } },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => second.kill());
  expect(second.id).toBe(await agentId());
  expect(alive(orphan as number)).toBe(false);
  const pids = await readPids();
  expect(pids).toHaveLength(2);
  expect(alive(pids[1] as number)).toBe(true);
  await second.stop();
  expect(pids.filter(alive)).toEqual([]);
});

import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { startAgent } from "./main.ts";
import { startEdgeUnderTest, TEST_TUNING } from "./testing/real-edge.ts";

const SIM_BIN = resolve(import.meta.dirname, "../sim/bin.ts");

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

test("--launch: ComfyUI dies mid-job, the job fails retryable, ComfyUI comes back and runs the retry, and stop leaves nothing behind", async () => {
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
  // The edge hands the retry straight back to this agent, which waits for ComfyUI's restart.
  const retried = await edge.waitFor(id, (t) => t.attempts === 2 && t.status === "PROGRESS", "the retry running", 40_000);
  expect(retried.error).toMatchObject({ code: "comfyui_unavailable" });
  expect((await readFile(join(dir, "pids"), "utf8")).trim().split("\n")).toHaveLength(2);

  await agent.stop();
  const pids = (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").map(Number);
  expect(pids.filter(alive)).toEqual([]);
  expect(await edge.task(id)).toMatchObject({ state: "queued", attempts: 2, error: { code: "agent_shutdown" } });
});

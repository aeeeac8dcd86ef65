import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import type { EdgeMessage } from "../shared/protocol.ts";
import { startAgent } from "./main.ts";
import { startEdgePeer } from "./testing/edge-peer.ts";
import { txt2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";
import { until } from "./testing/until.ts";

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

test("--launch: ComfyUI dies mid-job, the job fails retryable, ComfyUI comes back, and stop leaves nothing behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "launch-comfy-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "main.py"), mainPy());
  const edge = await startEdgePeer({ token: "t" });
  cleanups.push(edge.close);
  const storage = await startFixtureServer();
  cleanups.push(storage.close);
  const agent = await startAgent(
    {
      edgeUrl: edge.url,
      token: "t",
      launch: { dir, python: "python3", gpu: null },
      agentId: "agt_launch_test",
      graceMs: 100,
      tuning: { pollMs: 25, reconnectMinMs: 10, reconnectMaxMs: 200, launchReadyMs: 30_000, stopWaitMs: 5_000, ackWaitMs: 100 },
    },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => agent.kill());
  await agent.connectedOnce();
  expect(edge.hellos[0]?.inventory.checkpoints?.length).toBeGreaterThan(0);

  const job = (id: string): EdgeMessage => ({
    type: "job", job_id: id, lease_id: `lease-${id}`, attempt: 1, deadline: Date.now() + 60_000, graph: txt2img(),
    output_format: { type: "png", quality: 90 }, inputs: [], models: [],
    upload: { base_url: `${storage.url}/upload/${id}`, exp: 1, sig: "s", max_files: 4, max_bytes: 1_000_000 },
  });
  edge.send(job("l1"));
  await until("running", () => agent.jobs()[0]?.state === "running");
  const [firstPid] = (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").map(Number);
  process.kill(firstPid as number, "SIGKILL");
  await until("fail", () => edge.of("fail", "l1").length === 1);
  expect(edge.of("fail", "l1")[0]).toMatchObject({ retryable: true, error: { code: "comfyui_unavailable" } });

  await until("a second ComfyUI", async () => (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").length === 2, 30_000);
  edge.send(job("l2"));
  await until("running again", () => agent.jobs()[0]?.state === "running", 30_000);

  await agent.stop();
  const pids = (await readFile(join(dir, "pids"), "utf8")).trim().split("\n").map(Number);
  expect(pids.filter(alive)).toEqual([]);
  expect(edge.of("fail", "l2")[0]).toMatchObject({ retryable: true, error: { code: "agent_shutdown" } });
});

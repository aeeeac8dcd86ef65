import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { TERMINAL } from "../e2e/helpers.ts";
import type { TaskView } from "../shared/api.ts";
import { startSim, type Sim } from "../sim/server.ts";
import type { Agent } from "./main.ts";
import { freePort } from "./supervisor.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";
import { until } from "./testing/until.ts";

const SIM_BIN = resolve(import.meta.dirname, "../sim/bin.ts");
const ended = (t: TaskView) => TERMINAL.includes(t.status);
/** Probes fast, so that an outage is seen in a test's time (production: every 5 s, 10 s to answer). */
const WATCH = { comfyProbeMs: 100, comfyProbeTimeoutMs: 1_000, comfyRetryMinMs: 50, comfyRetryMaxMs: 200 };

let edge: EdgeUnderTest;
beforeAll(async () => {
  edge = await startEdgeUnderTest({ vars: { LEASE_TTL_MS: "10000" } });
});
afterAll(async () => edge?.close());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await edge.cancelSubmitted();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(port = 0, stepMs = 40): Promise<Sim> {
  const s = await startSim({ port, stepMs });
  cleanups.push(() => s.close());
  return s;
}

async function agentOn(comfyUrl: string): Promise<Agent> {
  const agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl, tuning: WATCH });
  cleanups.push(async () => agent.kill());
  return agent;
}

const paused = async (agent: Agent) => {
  const seen = await edge.agent(agent.id);
  return seen?.connected === true && seen.accepting === false && (seen.pause_reason ?? "").startsWith("comfyui_unreachable");
};
const accepting = async (agent: Agent) => {
  const seen = await edge.agent(agent.id);
  return seen?.connected === true && seen.accepting === true && seen.pause_reason === null;
};

/** The sim as a process of its own, to stop (SIGSTOP) as a hung ComfyUI: its sockets stay open, nothing answers. */
async function simProcess(stepMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SIM_BIN, "--port", "0", "--step-ms", String(stepMs)], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(async () => {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  });
  const url = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) res(m[1] as string);
    });
    child.once("exit", (code) => rej(new Error(`sim exited (${code})`)));
  });
  return { url, child };
}

describe("ComfyUI unreachable under an agent (--comfyui)", () => {
  test("ComfyUI dies mid-job: the job goes back unburned, the edge shows why, and it runs once ComfyUI is back", async () => {
    const first = await sim(0, 40);
    const agent = await agentOn(first.url);
    const id = await edge.submit({ steps: 100 });
    await edge.waitFor(id, (t) => t.status === "PROGRESS", "running");

    await first.close();
    const back = await edge.waitFor(id, (t) => t.state === "queued", "handed back", 15_000);
    expect(back).toMatchObject({ attempts: 0, error: null });
    await until("the agent paused with a reason", () => paused(agent));
    expect(agent.jobs()).toEqual([]);

    await sim(first.port, 1);
    await until("the agent accepting again", () => accepting(agent));
    expect(await edge.waitFor(id, ended, "finished")).toMatchObject({ status: "SUCCESS", attempts: 1 });
  });

  test("ComfyUI hangs (SIGSTOP: sockets open, no answers): the job is handed back; after SIGCONT it runs to SUCCESS", async () => {
    const { url, child } = await simProcess(40);
    const agent = await agentOn(url);
    const id = await edge.submit({ steps: 100 });
    await edge.waitFor(id, (t) => t.status === "PROGRESS", "running");

    child.kill("SIGSTOP");
    expect(await edge.waitFor(id, (t) => t.state === "queued", "handed back", 15_000)).toMatchObject({ attempts: 0 });
    await until("the agent paused with a reason", () => paused(agent));
    expect((await edge.agent(agent.id))?.pause_reason).toContain("did not answer");

    child.kill("SIGCONT");
    await until("the agent accepting again", () => accepting(agent));
    // The prompt it handed back was interrupted on ComfyUI's return, so the retry need not wait behind it.
    expect(await edge.waitFor(id, ended, "finished", 40_000)).toMatchObject({ status: "SUCCESS", attempts: 1 });
  });

  test("an agent started while ComfyUI is down connects paused, takes nothing, and runs the job once ComfyUI comes up", async () => {
    const port = await freePort();
    const agent = await agentOn(`http://127.0.0.1:${port}`);
    await until("the agent paused with a reason", () => paused(agent));
    const id = await edge.submit();
    expect(await edge.task(id)).toMatchObject({ state: "queued", attempts: 0 });

    const s = await sim(port, 1);
    const done = await edge.waitFor(id, ended, "finished");
    expect(done).toMatchObject({ status: "SUCCESS", attempts: 1 });
    // The hello sent while ComfyUI was away had no inventory; the one after it has.
    expect(Object.keys((await edge.agent(agent.id))?.inventory ?? {}).length).toBeGreaterThan(0);
    expect(s.stats().promptsReceived).toBeGreaterThan(0);
  });
});

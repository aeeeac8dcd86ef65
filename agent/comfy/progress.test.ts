import { afterEach, describe, expect, test } from "vitest";
import { startSim } from "../../sim/server.ts";
import { CHECKPOINT, txt2img } from "../testing/graphs.ts";
import { ComfyClient } from "./client.ts";
import { ComfyEventHub } from "./event-hub.ts";
import { ProgressMeter } from "./progress-meter.ts";
import { runPrompt, type RunProgress } from "./run.ts";

describe("ProgressMeter", () => {
  test("nodes count the same; a running node counts by its steps; cached nodes count at once", () => {
    const meter = new ProgressMeter(["1", "2", "3", "4"]);
    meter.cached(["1"]);
    expect(meter.percent).toBe(25);
    meter.executing("2", null);
    meter.steps("2", 5, 10);
    expect(meter.percent).toBe(37.5);
    meter.executing("3", "2");
    expect(meter.percent).toBe(50);
    meter.states({ "3": { value: 1, max: 1, state: "finished" }, "4": { value: 1, max: 1, state: "finished" } });
    expect(meter.percent).toBe(100);
  });

  test("never goes backwards: a late or smaller report changes nothing", () => {
    const meter = new ProgressMeter(["a", "b"]);
    meter.steps("a", 8, 10);
    const high = meter.percent;
    meter.steps("a", 2, 10);
    meter.states({ a: { value: 0, max: 1, state: "running" } });
    expect(meter.percent).toBe(high);
  });

  test("ids outside the graph (another prompt's, or an expanded subgraph's) are ignored", () => {
    const meter = new ProgressMeter(["a"]);
    meter.states({ zz: { value: 1, max: 1, state: "finished" } });
    meter.cached(["q"]);
    expect(meter.percent).toBe(0);
  });
});

type Sim = Awaited<ReturnType<typeof startSim>>;
const sims: Sim[] = [];
const hubs: ComfyEventHub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) h.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function setup(): Promise<{ comfy: ComfyClient; events: ComfyEventHub }> {
  const sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] } });
  sims.push(sim);
  const comfy = new ComfyClient(sim.url);
  const events = new ComfyEventHub(comfy);
  hubs.push(events);
  await events.ready();
  return { comfy, events };
}

/** No sampler: an empty latent decoded and saved. ComfyUI sends no `progress` for any of it. */
function samplerless(): Record<string, unknown> {
  const g = txt2img({ prefix: "no_sampler" });
  delete g["3"];
  delete g["6"];
  delete g["7"];
  (g["8"] as { inputs: Record<string, unknown> }).inputs.samples = ["5", 0];
  return g;
}

const percents = (progress: RunProgress[]) => progress.filter((p) => p.phase === "running").map((p) => p.percent);
const fast = { pollMs: 25, comfyDownMs: 5_000, stopWaitMs: 10_000 };

describe("progress of a run on the sim (progress_state as ComfyUI 0.3.64 sends it)", () => {
  test("a graph without a sampler moves node by node to 100%, never backwards", async () => {
    const { comfy, events } = await setup();
    const progress: RunProgress[] = [];
    const outcome = await runPrompt(comfy, { graph: samplerless(), events, onProgress: (p) => progress.push(p), ...fast });
    expect(outcome.ok).toBe(true);
    const seen = percents(progress);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(100);
    expect(new Set(seen).size).toBeGreaterThanOrEqual(3);
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ value: 4, max: 4 });
  });

  test("with a sampler the steps move the number between nodes, never backwards, and value/max are its steps", async () => {
    const { comfy, events } = await setup();
    const progress: RunProgress[] = [];
    const outcome = await runPrompt(comfy, { graph: txt2img({ steps: 10, seed: 3 }), events, onProgress: (p) => progress.push(p), ...fast });
    expect(outcome.ok).toBe(true);
    const seen = percents(progress);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(100);
    const steps = progress.filter((p) => p.node === "3" && p.max === 10);
    expect(steps.length).toBeGreaterThan(2);
    expect(steps.every((p) => p.step_name === "KSampler")).toBe(true);
    // Within the sampler the percent climbs with its steps (7 nodes: one node is ~14%).
    const during = steps.map((p) => p.percent);
    expect(during.at(-1)! - during[0]!).toBeGreaterThan(5);
  });
});

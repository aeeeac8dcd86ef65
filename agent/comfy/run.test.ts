import { afterEach, describe, expect, test } from "vitest";
import { startSim } from "../../sim/server.ts";
import { CHECKPOINT, txt2img } from "../testing/graphs.ts";
import { startTcpProxy } from "../testing/tcp-proxy.ts";
import { until } from "../testing/until.ts";
import { ComfyClient } from "./client.ts";
import { producedFiles, type RunOutcome } from "./outcome.ts";
import { PromptRun, runPrompt, type RunProgress } from "./run.ts";

type Sim = Awaited<ReturnType<typeof startSim>>;
type SimFaults = NonNullable<Parameters<typeof startSim>[0]>["faults"];
const sims: Sim[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function sim(faults?: SimFaults): Promise<{ sim: Sim; comfy: ComfyClient }> {
  const s = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] }, ...(faults ? { faults } : {}) });
  sims.push(s);
  return { sim: s, comfy: new ComfyClient(s.url) };
}

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const fast = { pollMs: 25, comfyDownMs: 5_000, stopWaitMs: 10_000 };

function ok(outcome: RunOutcome) {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}
function failed(outcome: RunOutcome) {
  if (outcome.ok) throw new Error("expected a failure, got success");
  return outcome;
}

describe("runPrompt on the sim", () => {
  test("a prompt runs to success with its output files and progress along the way", async () => {
    const { comfy } = await sim();
    const progress: RunProgress[] = [];
    const outcome = ok(await runPrompt(comfy, { graph: txt2img({ steps: 6 }), onProgress: (p) => progress.push(p), ...fast }));
    expect(outcome.outputs).toHaveLength(1);
    expect(outcome.outputs[0]).toMatchObject({ node_id: "9", key: "images", type: "output", subfolder: "" });
    expect(outcome.outputs[0]?.filename).toMatch(/^agent_test_\d+_\.png$/);
    // ComfyUI may start the prompt before answering POST /prompt: "queued" comes first or not at all.
    const firstRunning = progress.findIndex((p) => p.phase === "running");
    expect(progress.slice(firstRunning).every((p) => p.phase === "running")).toBe(true);
    const steps = progress.filter((p) => p.node === "3" && p.max === 6);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((p) => p.step_name === "KSampler" && p.phase === "running")).toBe(true);
    expect(progress.some((p) => p.node === "8" && p.step_name === "VAE Decode")).toBe(true);
  });

  test("a clean run takes its outputs from the socket's executed events, exactly as history records them, without GET /history", async () => {
    const { sim: s, comfy } = await sim();
    const historyReads = () => s.stats().requests.filter((r) => /^(\/api)?\/history/.test(r.path)).length;
    const graph = txt2img({ seed: 11 });
    const first = ok(await runPrompt(comfy, { graph, ...fast }));
    expect(first.outputs.length).toBeGreaterThan(0);
    expect(historyReads()).toBe(0);
    // A rerun served wholly from ComfyUI's cache asks history (some builds report no cached outputs).
    const cached = ok(await runPrompt(comfy, { graph, ...fast }));
    expect(historyReads()).toBe(1);
    for (const outcome of [first, cached]) {
      const entry = await comfy.history(outcome.promptId);
      expect(outcome.outputs).toEqual(producedFiles(entry?.outputs ?? {}));
    }
  });

  test("a fully cached rerun still completes with outputs", async () => {
    const { comfy } = await sim();
    const graph = txt2img({ seed: 7 });
    ok(await runPrompt(comfy, { graph, ...fast }));
    const again = ok(await runPrompt(comfy, { graph, ...fast }));
    expect(again.outputs.length).toBeGreaterThan(0);
  });

  test("an execution_error fails non-retryably with ComfyUI's details", async () => {
    const { comfy } = await sim({ errorRate: 1, seed: 3 });
    const outcome = failed(await runPrompt(comfy, { graph: txt2img(), ...fast }));
    expect(outcome.retryable).toBe(false);
    expect(outcome.error.code).toBe("execution_error");
    expect(outcome.error.node_id).toBeTruthy();
    expect(outcome.error.node_type).toBeTruthy();
    expect(outcome.error.exception_type).toBeTruthy();
    expect(outcome.error.message).toContain(outcome.error.node_type as string);
    expect((outcome.error.details as { traceback: string[] }).traceback.length).toBeGreaterThan(0);
  });

  test("a broken device (torch.AcceleratorError) fails retryable as rig_error: another rig may run the same graph", async () => {
    const { comfy } = await sim({ rigFaultRate: 1 });
    const outcome = failed(await runPrompt(comfy, { graph: txt2img(), ...fast }));
    expect(outcome.retryable).toBe(true);
    expect(outcome.error).toMatchObject({ code: "rig_error", exception_type: "torch.AcceleratorError" });
    expect(outcome.error.message).toContain("CUDA error");
  });

  test("a 400 fails as invalid_prompt with node_errors", async () => {
    const { comfy } = await sim();
    const graph = txt2img();
    (graph["3"] as { inputs: Record<string, unknown> }).inputs.steps = 0;
    const outcome = failed(await runPrompt(comfy, { graph, ...fast }));
    expect(outcome.retryable).toBe(false);
    expect(outcome.error.code).toBe("invalid_prompt");
    expect(outcome.error.message).toContain("KSampler");
    expect((outcome.error.details as { node_errors: Record<string, unknown> }).node_errors["3"]).toBeDefined();
  });

  test("aborting a running prompt interrupts it and fails with the abort's reason", async () => {
    const { sim: s, comfy } = await sim({ hangRate: 1, seed: 1 });
    const abort = new AbortController();
    const run = new PromptRun(comfy, { graph: txt2img(), signal: abort.signal, ...fast });
    await until("the prompt running", () => run.phase === "running");
    abort.abort({ code: "cancelled", message: "cancelled by the edge", retryable: false });
    const outcome = failed(await run.outcome);
    expect(outcome.error.code).toBe("cancelled");
    expect(outcome.retryable).toBe(false);
    expect(await comfy.queue()).toEqual({ running: [], pending: [] });
    expect(s.stats()).toBeDefined();
  });

  test("stopping a pending prompt deletes it from the queue without touching the running one", async () => {
    const { comfy } = await sim({ hangRate: 1, seed: 1 });
    const first = new PromptRun(comfy, { graph: txt2img({ seed: 1 }), ...fast });
    await until("first running", () => first.phase === "running");
    const second = new PromptRun(comfy, { graph: txt2img({ seed: 2 }), ...fast });
    await until("second queued", () => second.phase === "queued");
    second.stop({ code: "cancelled", message: "cancelled", retryable: false });
    expect(failed(await second.outcome).error.code).toBe("cancelled");
    const q = await comfy.queue();
    expect(q.running).toEqual([first.promptId]);
    expect(q.pending).toEqual([]);
    first.stop({ code: "cancelled", message: "cancelled", retryable: false });
    expect(failed(await first.outcome).error.code).toBe("cancelled");
  });

  test("withdraw takes back a queued prompt but not a running one", async () => {
    const { comfy } = await sim({ hangRate: 1, seed: 1 });
    const running = new PromptRun(comfy, { graph: txt2img({ seed: 1 }), ...fast });
    await until("first running", () => running.phase === "running");
    const queued = new PromptRun(comfy, { graph: txt2img({ seed: 2 }), ...fast });
    await until("second queued", () => queued.phase === "queued");
    expect(await running.withdraw()).toBe(false);
    expect(await queued.withdraw()).toBe(true);
    expect(failed(await queued.outcome).error.code).toBe("released");
    expect((await comfy.queue()).pending).toEqual([]);
    running.stop({ code: "cancelled", message: "cancelled", retryable: false });
    await running.outcome;
  });

  test("a prompt over its time limit is interrupted and fails retryably as timeout", async () => {
    const { comfy } = await sim({ hangRate: 1, seed: 1 });
    const outcome = failed(await runPrompt(comfy, { graph: txt2img(), timeoutMs: 100, ...fast }));
    expect(outcome.error.code).toBe("timeout");
    expect(outcome.retryable).toBe(true);
    expect((await comfy.queue()).running).toEqual([]);
  });

  test("when the socket drops mid-run, /history still delivers the result", async () => {
    const { sim: s } = await sim();
    const proxy = await startTcpProxy(s.url);
    cleanups.push(proxy.close);
    const comfy = new ComfyClient(proxy.url);
    let cut = 0;
    const outcome = ok(
      await runPrompt(comfy, {
        graph: txt2img({ steps: 40 }),
        ...fast,
        onProgress: (p) => {
          if (p.node === "3" && p.value === 1 && cut === 0) cut = proxy.cut();
        },
      }),
    );
    expect(cut).toBeGreaterThan(0);
    expect(outcome.outputs).toHaveLength(1);
  });

  test("a ComfyUI crash mid-run fails retryably as comfyui_unavailable", async () => {
    const { sim: s, comfy } = await sim({ hangRate: 1, seed: 1 });
    const run = new PromptRun(comfy, { graph: txt2img(), ...fast });
    await until("the prompt running", () => run.phase === "running");
    s.crash();
    const outcome = failed(await run.outcome);
    expect(outcome.error.code).toBe("comfyui_unavailable");
    expect(outcome.retryable).toBe(true);
  });

  test("a ComfyUI that is not there fails retryably before submitting", async () => {
    const outcome = failed(await runPrompt(new ComfyClient("http://127.0.0.1:9"), { graph: txt2img(), ...fast }));
    expect(outcome.error.code).toBe("comfyui_unavailable");
    expect(outcome.retryable).toBe(true);
    expect(outcome.promptId).toBeNull();
  });
});

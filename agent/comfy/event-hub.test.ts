import { afterEach, describe, expect, test } from "vitest";
import { startSim } from "../../sim/server.ts";
import { CHECKPOINT, txt2img } from "../testing/graphs.ts";
import { startTcpProxy } from "../testing/tcp-proxy.ts";
import { ComfyClient } from "./client.ts";
import { ComfyEventHub } from "./event-hub.ts";
import type { RunOutcome } from "./outcome.ts";
import { PromptRun, runPrompt, type RunProgress } from "./run.ts";

type Sim = Awaited<ReturnType<typeof startSim>>;
const cleanups: (() => Promise<void> | void)[] = [];

async function sim(stepMs = 2): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs, inventory: { checkpoints: [CHECKPOINT] } });
  cleanups.push(() => s.close());
  return s;
}

function hubFor(comfy: ComfyClient): ComfyEventHub {
  const hub = new ComfyEventHub(comfy);
  cleanups.unshift(() => hub.close());
  return hub;
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const fast = { pollMs: 25, comfyDownMs: 5_000, stopWaitMs: 10_000 };

function ok(outcome: RunOutcome) {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

describe("prompts sharing one ComfyUI socket", () => {
  test("several prompts at once each get their own progress and outputs, under the hub's client id", async () => {
    const comfy = new ComfyClient((await sim()).url);
    const events = hubFor(comfy);
    const progress = new Map<number, RunProgress[]>();
    const runs = [0, 1, 2].map((i) => {
      progress.set(i, []);
      return new PromptRun(comfy, { graph: txt2img({ seed: 100 + i, steps: 3 + i, prefix: `hub_${i}` }), events, ...fast, onProgress: (p) => progress.get(i)?.push(p) });
    });
    const outcomes = await Promise.all(runs.map((r) => r.outcome));
    outcomes.forEach((o, i) => {
      expect(ok(o).outputs[0]?.filename).toMatch(new RegExp(`^hub_${i}_`));
      // Only this prompt's sampler steps (3 + i of them) reached this run.
      const steps = (progress.get(i) ?? []).filter((p) => p.node === "3" && p.unit === "steps");
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.every((p) => p.max === 3 + i)).toBe(true);
    });
    expect(runs.every((r) => r.clientId === events.clientId)).toBe(true);
    expect(events.isOpen).toBe(true);
  });

  test("an instant prompt (no render time) is seen through: the socket is open before it is submitted", async () => {
    const comfy = new ComfyClient((await sim(0)).url);
    const events = hubFor(comfy);
    for (let i = 0; i < 5; i++) {
      const outcome = ok(await runPrompt(comfy, { graph: txt2img({ seed: 200 + i, steps: 1 }), events, ...fast }));
      expect(outcome.outputs).toHaveLength(1);
    }
  });

  test("when the shared socket drops mid-run, /history delivers the result and the next prompt reopens it", async () => {
    const s = await sim();
    const proxy = await startTcpProxy(s.url);
    cleanups.unshift(proxy.close);
    const comfy = new ComfyClient(proxy.url);
    const events = hubFor(comfy);
    let cut = 0;
    const first = ok(
      await runPrompt(comfy, {
        graph: txt2img({ steps: 40 }),
        events,
        ...fast,
        onProgress: (p) => {
          if (p.node === "3" && p.value === 1 && cut === 0) cut = proxy.cut();
        },
      }),
    );
    expect(cut).toBeGreaterThan(0);
    expect(first.outputs).toHaveLength(1);
    const progress: RunProgress[] = [];
    const second = ok(await runPrompt(comfy, { graph: txt2img({ seed: 9, steps: 4 }), events, ...fast, onProgress: (p) => progress.push(p) }));
    expect(second.outputs).toHaveLength(1);
    expect(progress.some((p) => p.node === "3" && p.max === 4)).toBe(true);
    expect(events.isOpen).toBe(true);
  });

  test("a closed hub fails a new prompt retryably before submitting", async () => {
    const comfy = new ComfyClient((await sim()).url);
    const events = hubFor(comfy);
    events.close();
    const outcome = await runPrompt(comfy, { graph: txt2img(), events, ...fast });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe("comfyui_unavailable");
      expect(outcome.retryable).toBe(true);
      expect(outcome.promptId).toBeNull();
    }
  });
});

import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { ComfyHealth } from "./comfy-health.ts";
import { until } from "./testing/until.ts";

const log = pino({ level: "silent" });
const watches: ComfyHealth[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.close();
});

/** A ComfyHealth over a probe the test switches between answering, refusing and hanging. */
function watched(opts: { intervalMs?: number } = {}) {
  const state = { mode: "answer" as "answer" | "refuse" | "hang", probes: 0 };
  const events: string[] = [];
  const health = new ComfyHealth({
    probe: (signal) => {
      state.probes += 1;
      if (state.mode === "answer") return Promise.resolve();
      if (state.mode === "refuse") return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:8188"));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    },
    intervalMs: opts.intervalMs ?? 20,
    timeoutMs: 100,
    retryMinMs: 10,
    retryMaxMs: 40,
    log,
    onDown: (reason) => events.push(`down: ${reason}`),
    onUp: () => events.push("up"),
  });
  watches.push(health);
  return { health, state, events };
}

describe("ComfyHealth", () => {
  test("a refusing ComfyUI is down once (with why), and up once when it answers again", async () => {
    const { health, state, events } = watched();
    await health.start();
    expect(health.up).toBe(true);
    state.mode = "refuse";
    await until("down", () => !health.up);
    expect(health.reason).toContain("ECONNREFUSED");
    const probesWhileDown = state.probes;
    await until("a few more probes while down", () => state.probes >= probesWhileDown + 3);
    state.mode = "answer";
    await until("up", () => health.up);
    expect(events).toEqual(["down: connect ECONNREFUSED 127.0.0.1:8188", "up"]);
    expect(health.reason).toBeNull();
  });

  test("a ComfyUI that holds the connection and never answers is down after the probe timeout", async () => {
    const { health, state } = watched();
    await health.start();
    state.mode = "hang";
    await until("down", () => !health.up);
    expect(health.reason).toContain("did not answer");
  });

  test("down() says so at once; suspect() probes at once, between slow intervals", async () => {
    const { health, state, events } = watched({ intervalMs: 60_000 });
    await health.start();
    health.down("ComfyUI exited (SIGKILL)");
    expect(health.up).toBe(false);
    expect(events).toEqual(["down: ComfyUI exited (SIGKILL)"]);
    await until("up again (it answers)", () => health.up);
    state.mode = "refuse";
    health.suspect();
    await until("down after the suspicion, not after a minute", () => !health.up);
  });

  test("starts down when ComfyUI does not answer the first probe", async () => {
    const { health, state } = watched();
    state.mode = "refuse";
    await health.start();
    expect(health.up).toBe(false);
  });
});

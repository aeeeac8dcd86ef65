import pino from "pino";
import { afterEach, expect, test } from "vitest";
import type { AgentMessage, JobMessage } from "../shared/protocol.ts";
import { startSim } from "../sim/server.ts";
import { sd15Prompt } from "../sim/testing.ts";
import { ComfyClient } from "./comfy/client.ts";
import { TuningSchema } from "./config.ts";
import { JobSlots } from "./jobs.ts";
import { Metrics } from "./metrics.ts";
import { until } from "./testing/until.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A `job` frame as the edge sends it; the upload grant is never used (the prompt never finishes). */
function jobFrame(timeoutS: number | undefined): JobMessage {
  return {
    type: "job", job_id: `tsk_${Math.random().toString(36).slice(2)}`, lease_id: "lse_timeouttest000001", attempt: 1, deadline: Date.now() + 60_000,
    graph: sd15Prompt(), output_format: { type: "png", quality: 90 },
    upload: { base_url: "http://127.0.0.1:9/agent/uploads/out/x/y", exp: 0, sig: "x", max_files: 1, max_bytes: 1 },
    inputs: [], models: [], ...(timeoutS === undefined ? {} : { timeout_s: timeoutS }),
  };
}

/** Job slots on a sim whose prompts hang until interrupted, with an agent-wide limit far above the job's. */
async function slotsOnHangingSim() {
  const sim = await startSim({ port: 0, stepMs: 2, faults: { hangRate: 1, seed: 1 } });
  cleanups.push(() => sim.close());
  const sent: AgentMessage[] = [];
  const slots = new JobSlots({
    comfy: new ComfyClient(sim.url),
    send: (m) => sent.push(m) > 0,
    log: pino({ level: "silent" }),
    metrics: new Metrics(),
    capacity: 1,
    prefetch: 0,
    jobTimeoutMs: 600_000,
    tuning: TuningSchema.parse({ pollMs: 25, progressIntervalMs: 0, stopWaitMs: 5_000 }),
  });
  cleanups.push(() => slots.drain(0));
  return { sim, sent, slots };
}

test("stops a run at the job's timeout_s (interrupting its prompt in ComfyUI) and reports `timeout`, retryable", async () => {
  const { sim, sent, slots } = await slotsOnHangingSim();
  const job = jobFrame(1);
  slots.accept(job);
  const isFail = (m: AgentMessage): m is Extract<AgentMessage, { type: "fail" }> => m.type === "fail";
  await until("the fail report", () => sent.some(isFail), 20_000);
  const fail = sent.find(isFail)!;
  expect(fail).toMatchObject({ job_id: job.job_id, lease_id: job.lease_id, retryable: true, error: { code: "timeout" } });
  expect(fail.error.message).toContain("1s");
  // It ran first (the clock starts when ComfyUI starts the prompt), then ComfyUI was told to stop it.
  expect(sent.some((m) => m.type === "progress" && m.phase === "running")).toBe(true);
  expect(sim.stats().interruptsReceived).toBeGreaterThanOrEqual(1);
  expect(sim.stats().interrupted).toBe(1);
});

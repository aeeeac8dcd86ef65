import pino from "pino";
import { afterEach, expect, test } from "vitest";
import type { AgentMessage, JobMessage } from "../shared/protocol.ts";
import { startSim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import { TuningSchema } from "./config.ts";
import { JobSlots } from "./jobs.ts";
import { Metrics } from "./metrics.ts";
import { CHECKPOINT, txt2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";
import { until } from "./testing/until.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Complete = Extract<AgentMessage, { type: "complete" }>;
type Progress = Extract<AgentMessage, { type: "progress" }>;

/** Job slots on the sim, uploading to a server that stores every PUT. */
async function slotsOnSim() {
  const sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] } });
  cleanups.push(() => sim.close());
  const storage = await startFixtureServer();
  cleanups.push(() => storage.close());
  const sent: AgentMessage[] = [];
  const slots = new JobSlots({
    comfy: new ComfyClient(sim.url),
    send: (m) => sent.push(m) > 0,
    log: pino({ level: "silent" }),
    metrics: new Metrics(),
    capacity: 1,
    prefetch: 0,
    jobTimeoutMs: 60_000,
    tuning: TuningSchema.parse({ pollMs: 25, progressIntervalMs: 0, stopWaitMs: 5_000, uploadMinMs: 1 }),
  });
  cleanups.push(() => slots.drain(0));
  return { sent, slots, storage };
}

/** txt2img whose latent is a batch of `batch`: SaveImage writes that many files. */
function job(storageUrl: string, batch: number, maxFiles: number): JobMessage {
  const graph = txt2img({ steps: 3, prefix: "limit" });
  (graph["5"] as { inputs: Record<string, unknown> }).inputs.batch_size = batch;
  return {
    type: "job", job_id: `tsk_${Math.random().toString(36).slice(2)}`, lease_id: "lse_outputslimit00001", attempt: 1, deadline: Date.now() + 60_000,
    graph, output_format: { type: "png", quality: 90 },
    upload: { base_url: `${storageUrl}/upload/job`, exp: 1_900_000_000, sig: "s", max_files: maxFiles, max_bytes: 10_000_000 },
    inputs: [], models: [],
  };
}

test("a graph with more files than max_files delivers the first ones and reports the rest as dropped; the job succeeds", async () => {
  const { sent, slots, storage } = await slotsOnSim();
  slots.accept(job(storage.url, 3, 2));
  await until("the complete report", () => sent.some((m) => m.type === "complete"), 20_000);
  const complete = sent.find((m): m is Complete => m.type === "complete")!;
  expect(complete.outputs).toHaveLength(2);
  expect(complete.dropped_outputs).toBe(1);
  expect(storage.puts.map((p) => p.path)).toEqual(["/upload/job/0", "/upload/job/1"]);
  expect(sent.some((m) => m.type === "fail")).toBe(false);
});

test("within the limit nothing is dropped, and the job's percent only climbs: run, then uploading from 95", async () => {
  const { sent, slots, storage } = await slotsOnSim();
  slots.accept(job(storage.url, 2, 2));
  await until("the complete report", () => sent.some((m) => m.type === "complete"), 20_000);
  const complete = sent.find((m): m is Complete => m.type === "complete")!;
  expect(complete.outputs).toHaveLength(2);
  expect(complete.dropped_outputs).toBeUndefined();
  const progress = sent.filter((m): m is Progress => m.type === "progress");
  const percents = progress.map((p) => p.percent ?? -1);
  expect(percents).toEqual([...percents].sort((a, b) => a - b));
  const uploading = progress.filter((p) => p.phase === "uploading");
  expect(uploading.length).toBeGreaterThan(0);
  expect(uploading.every((p) => p.unit === "files" && (p.percent ?? 0) >= 95)).toBe(true);
  expect(progress.filter((p) => p.phase === "running").every((p) => (p.percent ?? 100) <= 95)).toBe(true);
});

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { startLocalEdge } from "../scripts/local/edge.ts";
import { Api, decodePng, FAST_AGENT, testKeys, until } from "./helpers.ts";

const EDGE_VARS = { LEASE_TTL_MS: "1500", MAX_ATTEMPTS: "3" };

describe("end to end: one agent, one sim", () => {
  let stack: Stack;
  let api: Api;
  beforeAll(async () => {
    stack = await startStack({ keys: testKeys("e2e"), agents: 1, sim: { stepMs: 20 }, agent: FAST_AGENT, edge: { vars: EDGE_VARS } });
    api = new Api(stack.edge.url, stack.keys.client);
  });
  afterAll(async () => stack?.close());

  it("runs a job to SUCCESS with progress and every PNG downloadable at the requested size", async () => {
    const { task_id, seed } = await api.submit({ prompt: "a lighthouse", steps: 8, width: 320, height: 256 });
    const seen = new Set<string>();
    const done = await api.waitFor(task_id, (t) => {
      seen.add(t.status);
      return t.status === "SUCCESS" || t.status === "FAILURE";
    });
    expect(done.status).toBe("SUCCESS");
    expect(done.seed).toBe(seed);
    expect(seen.has("PROGRESS") || seen.has("PENDING")).toBe(true);
    expect(done.result!.outputs.length).toBeGreaterThan(0);
    for (const out of done.result!.outputs) {
      const res = await fetch(out.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(decodePng(new Uint8Array(await res.arrayBuffer()))).toEqual({ width: 320, height: 256 });
    }
    expect(done.timings.run_ms).not.toBeNull();
  });

  it("routes around a model the rig lost: ComfyUI's validation error → model_missing, and the job waits for a rig that has it", async () => {
    // The rig loses a model after the agent announced it: ComfyUI's /prompt answers 400 value_not_in_list.
    const sim = stack.sims[0]!;
    const { task_id } = await api.submit({ prompt: "needs a lora", lora: "add_detail.safetensors" });
    expect((await api.waitFor(task_id)).status).toBe("SUCCESS");
    sim.removeModel("add_detail.safetensors");
    const { task_id: second } = await api.submit({ prompt: "needs a lora again", lora: "add_detail.safetensors" });
    const waiting = await api.waitFor(second, (t) => t.error?.code === "model_missing" && t.state === "queued");
    expect(waiting.attempts).toBe(1);
    expect(JSON.stringify(waiting.error!.details)).toContain("value_not_in_list");
    expect(waiting.queue!.waiting_for).toContain("add_detail.safetensors");
    expect((await api.cancel(second)).status).toBe(200);
    // Jobs that do not need the lost model still run on this rig.
    const plain = await api.submit({ prompt: "no lora", steps: 2 });
    expect((await api.waitFor(plain.task_id)).status).toBe("SUCCESS");
  });

  it("a job running when ComfyUI crashes is handed back without using an attempt, and succeeds", async () => {
    const sim = stack.sims[0]!;
    const { task_id } = await api.submit({ prompt: "crash me", steps: 40 });
    await api.waitFor(task_id, (t) => t.status === "PROGRESS");
    await sim.crash();
    const done = await api.waitFor(task_id, undefined, 40_000);
    expect(done.status).toBe("SUCCESS");
    // The rig's fault, not the job's: the hand-back costs no attempt.
    expect(done.attempts).toBe(1);
  });

  it("cancels a queued job and a running one (ComfyUI is interrupted)", async () => {
    const sim = stack.sims[0]!;
    const running = await api.submit({ prompt: "long", steps: 100 });
    await api.waitFor(running.task_id, (t) => t.status === "PROGRESS");
    const queued = await api.submit({ prompt: "waits" });
    expect((await api.get(queued.task_id)).status).toBe("PENDING");
    expect((await api.cancel(queued.task_id)).status).toBe(200);
    const interruptsBefore = sim.stats().interruptsReceived;
    expect((await api.cancel(running.task_id)).status).toBe(200);
    expect((await api.get(running.task_id)).status).toBe("CANCELLED");
    expect((await api.get(queued.task_id)).status).toBe("CANCELLED");
    await until(() => sim.stats().interruptsReceived > interruptsBefore, 10_000, "the sim to see /interrupt");
    // The agent is free again afterwards.
    const next = await api.submit({ prompt: "after cancel", steps: 2 });
    expect((await api.waitFor(next.task_id)).status).toBe("SUCCESS");
  });
});

describe("end to end: failures across agents", () => {
  it("completes a job on a second agent after the first dies mid-job, with exactly one stored result", async () => {
    const stack = await startStack({ keys: testKeys("kill"), agents: 2, sim: { stepMs: 25 }, agent: FAST_AGENT, edge: { vars: EDGE_VARS } });
    try {
      const api = new Api(stack.edge.url, stack.keys.client);
      const { task_id } = await api.submit({ prompt: "survive a dead rig", steps: 60 });
      await api.waitFor(task_id, (t) => t.status === "PROGRESS");
      const holder = stack.agents.find((a) => a.jobs().some((j) => j.job_id === task_id))!;
      holder.kill();
      const done = await api.waitFor(task_id, undefined, 40_000);
      expect(done.status).toBe("SUCCESS");
      expect(done.attempts).toBe(2);
      expect(done.result!.outputs).toHaveLength(1);
      const bucket = await stack.edge.mf.getR2Bucket("FILES");
      await until(async () => (await bucket.list({ prefix: `out/${task_id}/` })).objects.length === 1, 10_000, "stale objects to be swept");
      const objects = (await bucket.list({ prefix: `out/${task_id}/` })).objects.map((o) => o.key);
      expect(objects).toEqual([done.result!.outputs[0]!.url.split("/files/")[1]!.split("?")[0]]);
    } finally {
      await stack.close();
    }
  });

  it("gives two agents with different inventories only jobs they can run", async () => {
    const stack = await startStack({ keys: testKeys("inv"), agents: 0, sim: { stepMs: 1 }, agent: FAST_AGENT });
    try {
      const { startSim } = await import("../sim/server.ts");
      const sd = await startSim({ port: 0, stepMs: 1, inventory: { checkpoints: ["v1-5-pruned-emaonly.safetensors"], loras: ["add_detail.safetensors"] } });
      const flux = await startSim({ port: 0, stepMs: 1, inventory: { unet: ["flux1-dev-Q4_K_S.gguf", "flux1-schnell-Q4_K_S.gguf"], vae: ["ae.safetensors"], clip: ["clip_l.safetensors", "t5-v1_1-xxl-encoder-Q5_K_M.gguf"], loras: ["Flux-Ghibli-Art-LoRA.safetensors"] } });
      stack.sims.push(sd, flux);
      const sdAgent = await stack.addAgent(0, { comfyUrl: sd.url, name: "sd-rig", capacity: 2 });
      const fluxAgent = await stack.addAgent(1, { comfyUrl: flux.url, name: "flux-rig", capacity: 2 });
      const api = new Api(stack.edge.url, stack.keys.client);
      const jobs = [];
      for (let i = 0; i < 4; i++) {
        jobs.push({ kind: "sd", ...(await api.submit({ prompt: `sd ${i}`, steps: 2 })) });
        jobs.push({ kind: "flux", ...(await api.submit({ prompt: `flux ${i}`, steps: 2, width: 512, height: 512 }, "flux_default")) });
      }
      for (const j of jobs) expect((await api.waitFor(j.task_id)).status).toBe("SUCCESS");
      const sdPrompts = sd.stats().executions.length;
      const fluxPrompts = flux.stats().executions.length;
      expect(sdPrompts).toBe(4);
      expect(fluxPrompts).toBe(4);
      expect(sdAgent.id).not.toBe(fluxAgent.id);
    } finally {
      await stack.close();
    }
  });

  it("with prefetch, the sim's queue never runs empty between consecutive jobs", async () => {
    const stack = await startStack({ keys: testKeys("pre"), agents: 1, sim: { stepMs: 30 }, agent: { ...FAST_AGENT, prefetch: 1 } });
    try {
      const api = new Api(stack.edge.url, stack.keys.client);
      const ids = [];
      for (let i = 0; i < 6; i++) ids.push((await api.submit({ prompt: `p${i}`, steps: 5 })).task_id);
      for (const id of ids) expect((await api.waitFor(id)).status).toBe("SUCCESS");
      const ex = stack.sims[0]!.stats().executions.filter((e) => e.outcome === "success").sort((a, b) => a.started_at - b.started_at);
      expect(ex).toHaveLength(6);
      // Each next prompt was already in ComfyUI's queue when the previous one finished.
      for (let i = 1; i < ex.length; i++) expect(ex[i]!.received_at).toBeLessThan(ex[i - 1]!.ended_at);
    } finally {
      await stack.close();
    }
  });
});

describe("end to end: restarts and signals", () => {
  it("keeps queued jobs through an edge restart, and the agent reconnects and runs them", async () => {
    const persistDir = mkdtempSync(join(tmpdir(), "comfy-edge-state-"));
    const keys = testKeys("restart");
    const stack = await startStack({ keys, agents: 0, sim: { stepMs: 5 }, agent: FAST_AGENT, edge: { persistDir } });
    const port = stack.edge.port;
    try {
      const api = new Api(stack.edge.url, keys.client);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await api.submit({ prompt: `persist ${i}`, steps: 2 })).task_id);
      await stack.edge.close();
      const edge = await startLocalEdge({ keys, port, persistDir });
      stack.edge = edge;
      for (const id of ids) expect((await api.get(id)).status).toBe("PENDING");
      const { startSim } = await import("../sim/server.ts");
      const sim = await startSim({ port: 0, stepMs: 5 });
      stack.sims.push(sim);
      const agent = await stack.addAgent(0, { comfyUrl: sim.url });
      for (const id of ids) expect((await api.waitFor(id)).status).toBe("SUCCESS");
      // And the agent rides out one more edge restart by reconnecting on its own.
      await edge.close();
      stack.edge = await startLocalEdge({ keys, port, persistDir });
      await until(() => agent.connected, 20_000, "the agent to reconnect");
      const after = await api.submit({ prompt: "after restart", steps: 2 });
      expect((await api.waitFor(after.task_id)).status).toBe("SUCCESS");
    } finally {
      await stack.close();
    }
  });

  it("drains on SIGTERM: the in-flight job finishes, the process exits 0", async () => {
    const stack = await startStack({ keys: testKeys("term"), agents: 0, sim: { stepMs: 25 }, edge: { vars: EDGE_VARS } });
    try {
      const { startSim } = await import("../sim/server.ts");
      const sim = await startSim({ port: 0, stepMs: 25 });
      stack.sims.push(sim);
      const proc = stack.spawnAgent(0, ["--log-level", "silent"]);
      const api = new Api(stack.edge.url, stack.keys.client);
      const { task_id } = await api.submit({ prompt: "finish me", steps: 40 });
      await api.waitFor(task_id, (t) => t.status === "PROGRESS", 30_000);
      const code = await proc.stop("SIGTERM");
      expect(code).toBe(0);
      const t = await api.get(task_id);
      expect(t.status).toBe("SUCCESS");
    } finally {
      await stack.close();
    }
  });
});

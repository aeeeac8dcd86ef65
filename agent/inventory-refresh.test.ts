import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { ModelInventory } from "../shared/protocol.ts";
import { startSim, type Sim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import { InventoryRefresh } from "./inventory-refresh.ts";
import type { Agent } from "./main.ts";
import { CHECKPOINT } from "./testing/graphs.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(inventory: Record<string, string[]>): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 2, inventory });
  cleanups.push(() => s.close());
  return s;
}

describe("the inventory ComfyUI reports", () => {
  test("with no model files at all it is empty: no built-in choice (VAELoader's pixel_space), no empty folder", async () => {
    const s = await sim({});
    const comfy = new ComfyClient(s.url);
    cleanups.push(async () => comfy.close());
    const listed = (await (await fetch(`${s.url}/models`)).json()) as string[];
    expect(listed).toContain("checkpoints");
    const vae = (await (await fetch(`${s.url}/object_info/VAELoader`)).json()) as { VAELoader: { input: { required: { vae_name: unknown[] } } } };
    expect(vae.VAELoader.input.required.vae_name[0]).toEqual(["pixel_space"]);
    expect(await comfy.inventory()).toEqual({});
  });

  test("a refresh sends only a change (or when forced), and sees a model copied in while ComfyUI runs", async () => {
    const s = await sim({ checkpoints: [CHECKPOINT] });
    const comfy = new ComfyClient(s.url);
    cleanups.push(async () => comfy.close());
    const sent: ModelInventory[] = [];
    const refresh = new InventoryRefresh({ read: () => comfy.inventory(), send: (i) => sent.push(i) > 0, intervalMs: 0, log: pino({ level: "silent" }) });
    refresh.known(await comfy.inventory());
    await refresh.refresh("test");
    expect(sent).toEqual([]);
    s.addModel("loras", "new_style.safetensors");
    await refresh.refresh("test");
    expect(sent).toEqual([{ checkpoints: [CHECKPOINT], loras: ["new_style.safetensors"] }]);
    await refresh.refresh("test");
    await refresh.refresh("model_missing", true);
    expect(sent).toHaveLength(2);
    refresh.close();
  });
});

describe("with the real edge", () => {
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    edge = await startEdgeUnderTest();
  });
  afterAll(async () => edge?.close());
  afterEach(async () => edge.cancelSubmitted());

  test("a model copied into ComfyUI while the agent runs reaches the edge, and the job that waited for it runs", async () => {
    const s = await sim({});
    const agent: Agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url, inventoryIntervalMs: 100 });
    cleanups.push(async () => agent.kill());
    await agent.connectedOnce();
    expect((await edge.agent(agent.id))?.inventory).toEqual({});
    const id = await edge.submit();
    const waiting = await edge.waitFor(id, (t) => (t.queue?.waiting_for ?? "").includes(CHECKPOINT), "waiting for the checkpoint");
    expect(waiting.status).toBe("PENDING");
    s.addModel("checkpoints", CHECKPOINT);
    const done = await edge.waitFor(id, (t) => t.status === "SUCCESS" || t.status === "FAILURE", "the job to end");
    expect(done.status).toBe("SUCCESS");
    expect(done.progress).toMatchObject({ percent: 100, phase: "done" });
    expect((await edge.agent(agent.id))?.inventory).toEqual({ checkpoints: [CHECKPOINT] });
  });
});

describe("with the real edge and MAX_WAIT_S=2", () => {
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    edge = await startEdgeUnderTest({ vars: { MAX_WAIT_S: "2" } });
  });
  afterAll(async () => edge?.close());

  test("a job whose model no connected agent has fails with no_capable_agent, naming the model", async () => {
    const s = await sim({ loras: ["other.safetensors"] });
    const agent: Agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url });
    cleanups.push(async () => agent.kill());
    await agent.connectedOnce();
    const id = await edge.submit();
    const failed = await edge.waitFor(id, (t) => t.status === "FAILURE", "no_capable_agent", 30_000);
    expect(failed.error?.code).toBe("no_capable_agent");
    expect(failed.error?.message).toContain(CHECKPOINT);
    expect(failed.attempts).toBe(0);
  });
});


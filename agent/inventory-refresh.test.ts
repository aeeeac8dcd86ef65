import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { ModelInventory, NodeCatalog } from "../shared/protocol.ts";
import { startSim, type Sim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import { InventoryRefresh } from "./inventory-refresh.ts";
import type { Agent } from "./main.ts";
import { CHECKPOINT } from "./testing/graphs.ts";
import { startEdgeUnderTest, startTestAgent, type EdgeUnderTest } from "./testing/real-edge.ts";
import { until } from "./testing/until.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(inventory: Record<string, string[]>, extraNodes?: string[]): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 2, inventory, ...(extraNodes ? { extraNodes } : {}) });
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

test("a send that finishes later (the agent adds its models folder's free space) counts only once it says the edge has it", async () => {
  const s = await sim({ checkpoints: [CHECKPOINT] });
  const comfy = new ComfyClient(s.url);
  cleanups.push(async () => comfy.close());
  const sent: ModelInventory[] = [];
  let edgeUp = false;
  const send = async (i: ModelInventory) => {
    await new Promise((r) => setTimeout(r, 5));
    if (edgeUp) sent.push(i);
    return edgeUp;
  };
  const refresh = new InventoryRefresh({ read: () => comfy.inventory(), send, intervalMs: 0, log: pino({ level: "silent" }) });
  refresh.known(await comfy.inventory());
  s.addModel("loras", "late.safetensors");
  await refresh.refresh("edge away");
  expect(sent).toEqual([]);
  edgeUp = true;
  await refresh.refresh("edge back");
  expect(sent).toEqual([{ checkpoints: [CHECKPOINT], loras: ["late.safetensors"] }]);
  refresh.close();
});

describe("the node catalog", () => {
  test("is read for the first hello and again only after ComfyUI may have restarted; a changed one rides the next inventory message", async () => {
    // Two ComfyUIs stand for one rig before and after a restart that added a custom node.
    const before = await sim({ checkpoints: [CHECKPOINT] });
    const after = await sim({ checkpoints: [CHECKPOINT] }, ["SharpenPlus"]);
    let comfy = new ComfyClient(before.url);
    const clients = [comfy];
    cleanups.push(async () => clients.forEach((c) => c.close()));
    let reads = 0;
    const sent: { inventory: ModelInventory; nodes?: NodeCatalog }[] = [];
    const refresh = new InventoryRefresh({
      read: () => comfy.inventory(),
      readNodes: () => {
        reads += 1;
        return comfy.nodeCatalog();
      },
      send: (inventory, nodes) => sent.push({ inventory, ...(nodes ? { nodes } : {}) }) > 0,
      intervalMs: 0,
      log: pino({ level: "silent" }),
    });
    cleanups.push(async () => refresh.close());
    const hello = await refresh.nodesForHello();
    expect(hello?.classes).toContain("KSampler");
    expect(hello?.classes).not.toContain("SharpenPlus");
    refresh.known(await comfy.inventory());
    await refresh.refresh("periodic");
    await refresh.refresh("periodic");
    expect(await refresh.nodesForHello()).toEqual(hello);
    expect({ reads, sent }).toEqual({ reads: 1, sent: [] });

    comfy = new ComfyClient(after.url);
    clients.push(comfy);
    await refresh.refresh("periodic");
    expect({ reads, sent }).toEqual({ reads: 1, sent: [] });
    refresh.nodesMayHaveChanged();
    await refresh.refresh("ComfyUI answers again");
    expect(reads).toBe(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.inventory).toEqual({ checkpoints: [CHECKPOINT] });
    expect(sent[0]?.nodes?.classes).toContain("SharpenPlus");
    expect(sent[0]?.nodes?.digest).not.toBe(hello?.digest);

    // Read again after another restart, but the same classes: nothing new to send.
    refresh.nodesMayHaveChanged();
    await refresh.refresh("ComfyUI answers again");
    expect({ reads, sent: sent.length }).toEqual({ reads: 3, sent: 1 });
  });

  test("a ComfyUI that does not answer leaves the last catalog (none at first) and is read again next time", async () => {
    const s = await sim({});
    let url = "http://127.0.0.1:9";
    const refresh = new InventoryRefresh({
      read: async () => ({}),
      readNodes: () => {
        const c = new ComfyClient(url);
        return c.nodeCatalog().finally(() => c.close());
      },
      send: () => true,
      intervalMs: 0,
      log: pino({ level: "silent" }),
    });
    cleanups.push(async () => refresh.close());
    expect(await refresh.nodesForHello()).toBeNull();
    url = s.url;
    expect((await refresh.nodesForHello())?.comfyui_version).toBe("0.3.64");
  });
});

describe("with the real edge", () => {
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    edge = await startEdgeUnderTest();
  });
  afterAll(async () => edge?.close());
  afterEach(async () => edge.cancelSubmitted());

  test("the agent's hello tells the edge its rig's node classes and ComfyUI's version", async () => {
    const s = await sim({ checkpoints: [CHECKPOINT] }, ["SharpenPlus"]);
    const agent: Agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url });
    cleanups.push(async () => agent.kill());
    await agent.connectedOnce();
    const res = await fetch(`${edge.edge.url}/agents/${agent.id}/nodes`, { headers: { authorization: `Bearer ${edge.keys.admin}` } });
    expect(res.status).toBe(200);
    const nodes = (await res.json()) as { comfyui_version: string | null; digest: string | null; classes: string[] | null };
    const info = (await (await fetch(`${s.url}/object_info`)).json()) as Record<string, unknown>;
    expect(nodes.classes).toEqual(Object.keys(info).sort());
    expect(nodes.classes).toContain("SharpenPlus");
    expect(nodes.comfyui_version).toBe("0.3.64");
    expect(nodes.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  test("after ComfyUI restarts with another custom node, the edge gets the new catalog", async () => {
    const s = await sim({ checkpoints: [CHECKPOINT] }, ["SharpenPlus"]);
    const agent: Agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url, tuning: { comfyRetryMinMs: 50, comfyRetryMaxMs: 200 } });
    cleanups.push(async () => agent.kill());
    await agent.connectedOnce();
    const nodes = async () => {
      const res = await fetch(`${edge.edge.url}/agents/${agent.id}/nodes`, { headers: { authorization: `Bearer ${edge.keys.admin}` } });
      return ((await res.json()) as { classes: string[] | null }).classes ?? [];
    };
    expect(await nodes()).toContain("SharpenPlus");
    await s.crash({ extraNodes: ["GrainPlus"] });
    await until("the edge to list GrainPlus", async () => (await nodes()).includes("GrainPlus"));
    expect(await nodes()).not.toContain("SharpenPlus");
    expect(agent.connected).toBe(true);
  });

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


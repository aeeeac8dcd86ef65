import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { ComfyClient } from "./client.ts";
import { ComfyEventHub } from "./event-hub.ts";
import type { ComfyEvent } from "./schemas.ts";
import { PromptWatch, type RunProgress } from "./watch.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A ComfyUI socket endpoint whose frames the test writes, as ComfyUI serialises them. */
async function comfySocket(): Promise<{ url: string; client: () => Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  cleanups.push(() => new Promise((r) => wss.close(r)));
  await once(wss, "listening");
  const first = once(wss, "connection").then(([ws]) => ws as WebSocket);
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, client: () => first };
}

const state = (promptId: string, nodes: Record<string, [number, number, string]>): string =>
  JSON.stringify({
    type: "progress_state",
    data: {
      prompt_id: promptId,
      nodes: Object.fromEntries(Object.entries(nodes).map(([id, [value, max, s]]) => [id, { value, max, state: s, node_id: id, prompt_id: promptId }])),
    },
  }).replace(/":/g, '": ').replace(/,"/g, ', "');

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};

const GRAPH = Object.fromEntries(["1", "2", "3", "4"].map((id) => [id, { class_type: "ImageInvert", inputs: {} }]));

async function watching(): Promise<{ ws: WebSocket; watch: PromptWatch; progress: RunProgress[] }> {
  const server = await comfySocket();
  const comfy = new ComfyClient(server.url);
  const hub = new ComfyEventHub(comfy);
  cleanups.push(() => hub.close());
  const progress: RunProgress[] = [];
  const watch = new PromptWatch(comfy, { clientId: hub.clientId, promptId: "p1" }, GRAPH, { events: hub, onChange: () => {}, onProgress: (p) => progress.push(p) });
  await watch.open();
  cleanups.push(() => watch.close());
  return { ws: await server.client(), watch, progress };
}

describe("progress_state through the shared socket", () => {
  test("a subscribed prompt's frames reach onState unparsed; another prompt's are dropped; a listener without onState gets them parsed", async () => {
    const server = await comfySocket();
    const hub = new ComfyEventHub(new ComfyClient(server.url));
    cleanups.push(() => hub.close());
    const raw: string[] = [];
    const parsed: ComfyEvent[] = [];
    await hub.subscribe("lazy", { onEvent: () => {}, onState: (t) => raw.push(t), onClose: () => {} });
    await hub.subscribe("eager", { onEvent: (e) => parsed.push(e), onClose: () => {} });
    const ws = await server.client();
    ws.send(state("theirs", { "1": [1, 1, "finished"] }));
    ws.send(state("lazy", { "1": [0, 1, "running"] }));
    ws.send(state("eager", { "2": [3, 8, "running"] }));
    await until(() => raw.length > 0 && parsed.length > 0);
    expect(raw).toEqual([state("lazy", { "1": [0, 1, "running"] })]);
    expect(parsed).toEqual([{ type: "progress_state", data: { prompt_id: "eager", nodes: { "2": { value: 3, max: 8, state: "running" } } } }]);
  });

  test("a burst of snapshots is read once, the latest, and moves the prompt's number", async () => {
    const { ws, progress } = await watching();
    ws.send(JSON.stringify({ type: "execution_start", data: { prompt_id: "p1" } }));
    ws.send(state("p1", { "1": [0, 1, "running"] }));
    ws.send(state("p1", { "1": [1, 1, "finished"], "2": [0, 1, "running"] }));
    ws.send(state("p1", { "1": [1, 1, "finished"], "2": [1, 1, "finished"], "3": [2, 4, "running"] }));
    await until(() => progress.some((p) => p.percent > 0));
    await new Promise((r) => setTimeout(r, 150));
    const moved = progress.filter((p) => p.percent > 0);
    // Two of four nodes done and the third half-way: one report, from the last snapshot alone.
    expect(moved).toEqual([expect.objectContaining({ phase: "running", percent: 62.5 })]);
  });

  test("success settles the nodes that started without reading the snapshot still waiting", async () => {
    const { ws, watch, progress } = await watching();
    ws.send(JSON.stringify({ type: "execution_start", data: { prompt_id: "p1" } }));
    for (const id of ["1", "2", "3"]) ws.send(JSON.stringify({ type: "executing", data: { node: id, display_node: id, prompt_id: "p1" } }));
    ws.send(state("p1", { "1": [1, 1, "finished"], "2": [1, 1, "finished"], "3": [1, 1, "finished"] }));
    ws.send(JSON.stringify({ type: "execution_success", data: { prompt_id: "p1" } }));
    await until(() => watch.finished);
    await new Promise((r) => setTimeout(r, 150));
    // Node 4 never ran (an unused branch): three of four nodes, and nothing after the end.
    expect(watch.percent).toBe(75);
    expect(progress.at(-1)).toMatchObject({ percent: 75, unit: "nodes", value: 3, max: 4 });
    expect(progress.filter((p) => p.percent === 75)).toHaveLength(1);
  });

  test("a late snapshot never takes a sampler's steps back", async () => {
    const { ws, progress } = await watching();
    ws.send(JSON.stringify({ type: "executing", data: { node: "3", display_node: "3", prompt_id: "p1" } }));
    ws.send(state("p1", { "3": [4, 20, "running"] }));
    ws.send(JSON.stringify({ type: "progress", data: { value: 9, max: 20, prompt_id: "p1", node: "3" } }));
    await until(() => progress.some((p) => p.value === 9));
    await new Promise((r) => setTimeout(r, 150));
    const steps = progress.filter((p) => p.unit === "steps").map((p) => p.value);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(9);
  });
});

import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, expect, test } from "vitest";
import { WebSocketServer } from "ws";
import { EventSocket } from "./events.ts";
import type { ComfyEvent } from "./schemas.ts";

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A socket server that sends `frames` (text) to each client as it connects. */
async function serving(frames: string[]): Promise<string> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  servers.push(wss);
  await once(wss, "listening");
  wss.on("connection", (ws) => {
    for (const f of frames) ws.send(f);
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
}

test("frames of unwanted types written as ComfyUI writes them are dropped unparsed; others still go through accept and the schema", async () => {
  const url = await serving([
    `{"type": "progress_state", "data": {"prompt_id": "p1", "nodes": {}}}`,
    `{"type":"progress_state","data":{"prompt_id":"p1","nodes":{}}}`,
    `{"data": {"prompt_id": "p1", "nodes": {}}, "type": "progress_state"}`,
    `{"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": "p1", "node": "3"}}`,
  ]);
  const accepted: string[] = [];
  const events: ComfyEvent[] = [];
  const socket = await EventSocket.open(url, {
    wanted: new Set(["progress"]),
    accept: (type) => {
      accepted.push(type);
      return type === "progress";
    },
    onEvent: (e) => events.push(e),
    onClose: () => undefined,
  });
  for (let i = 0; i < 200 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  socket.close();
  // Only the frame with another key order had to be parsed to learn its type.
  expect(accepted).toEqual(["progress_state", "progress"]);
  expect(events).toEqual([{ type: "progress", data: { value: 1, max: 2, prompt_id: "p1", node: "3" } }]);
});

test("admit takes a second look before JSON.parse: a refused progress_state never reaches accept", async () => {
  const url = await serving([
    `{"type": "progress_state", "data": {"prompt_id": "theirs", "nodes": {}}}`,
    `{"type": "progress_state", "data": {"prompt_id": "ours", "nodes": {"3": {"value": 2, "max": 4, "state": "running"}}}}`,
  ]);
  const accepted: string[] = [];
  const events: ComfyEvent[] = [];
  const socket = await EventSocket.open(url, {
    wanted: new Set(["progress_state"]),
    admit: (_type, text) => text.includes('"prompt_id": "ours"'),
    accept: (type, data) => {
      accepted.push(`${type}:${String(data?.prompt_id)}`);
      return true;
    },
    onEvent: (e) => events.push(e),
    onClose: () => undefined,
  });
  for (let i = 0; i < 200 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  socket.close();
  expect(accepted).toEqual(["progress_state:ours"]);
  expect(events).toEqual([{ type: "progress_state", data: { prompt_id: "ours", nodes: { "3": { value: 2, max: 4, state: "running" } } } }]);
});

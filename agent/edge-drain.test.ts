import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, expect, test } from "vitest";
import { WebSocketServer } from "ws";
import { AgentMessageSchema, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage } from "../shared/protocol.ts";
import { startSim } from "../sim/server.ts";
import { startAgent } from "./main.ts";
import { TEST_TUNING } from "./testing/real-edge.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The one agent test that does not run against the real edge: the edge cannot send `drain`
 * yet (no admin route asks it to), so a bare socket plays the edge for this single message.
 * Replace it with the real edge once draining an agent is exposed over HTTP.
 */
test("a drain message from the edge stops the agent: it pauses, then closes", async () => {
  const received: AgentMessage[] = [];
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", path: "/agent/connect" });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const closed = new Promise<void>((resolve) => {
    wss.on("connection", (ws) => {
      ws.on("close", () => resolve());
      ws.on("message", (data) => {
        const message = AgentMessageSchema.parse(JSON.parse(data.toString()));
        received.push(message);
        if (message.type !== "hello") return;
        const welcome: EdgeMessage = { type: "welcome", protocol: PROTOCOL_VERSION, agent_id: message.agent_id, lease_ttl_ms: 30_000, heartbeat_ms: 10_000 };
        ws.send(JSON.stringify(welcome));
        ws.send(JSON.stringify({ type: "drain", reason: "deploy" } satisfies EdgeMessage));
      });
    });
  });
  const sim = await startSim({ port: 0, stepMs: 2 });
  cleanups.push(() => sim.close());
  const agent = await startAgent(
    { edgeUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, token: "t", comfyUrl: sim.url, agentId: "agt_drain_test", tuning: TEST_TUNING },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => agent.kill());
  await agent.done;
  await closed;
  expect(received.map((m) => m.type)).toEqual(["hello", "pause"]);
});

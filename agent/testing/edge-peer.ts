import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { AgentMessageSchema, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage } from "../../shared/protocol.ts";

/**
 * The edge's side of the lease protocol, reduced to what agent tests need: it checks the
 * token, answers `hello` with `welcome`, records every agent message (validated with the
 * shared schemas) and lets the test push edge messages. Not the real JobQueue.
 */
export async function startEdgePeer(opts: { token: string; heartbeatMs?: number; leaseTtlMs?: number }) {
  const received: AgentMessage[] = [];
  const invalid: unknown[] = [];
  const hellos: Extract<AgentMessage, { type: "hello" }>[] = [];
  let current: WebSocket | null = null;
  let refusals = 0;
  let holdWelcome = false;
  let held: (() => void) | null = null;
  const wss = new WebSocketServer({
    port: 0,
    host: "127.0.0.1",
    path: "/agent/connect",
    verifyClient: (info: { req: IncomingMessage }) => {
      const ok = info.req.headers.authorization === `Bearer ${opts.token}`;
      if (!ok) refusals += 1;
      return ok;
    },
  });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  wss.on("connection", (ws) => {
    current = ws;
    ws.on("message", (data) => {
      const parsed = AgentMessageSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) {
        invalid.push(data.toString());
        return;
      }
      received.push(parsed.data);
      if (parsed.data.type === "hello") {
        hellos.push(parsed.data);
        const welcome: EdgeMessage = {
          type: "welcome",
          protocol: PROTOCOL_VERSION,
          agent_id: parsed.data.agent_id,
          lease_ttl_ms: opts.leaseTtlMs ?? 30_000,
          heartbeat_ms: opts.heartbeatMs ?? 50,
        };
        const answer = () => ws.send(JSON.stringify(welcome));
        if (holdWelcome) held = answer;
        else answer();
      }
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    invalid,
    hellos,
    get refusals() {
      return refusals;
    },
    /** Messages of one type, optionally for one job. */
    of<T extends AgentMessage["type"]>(type: T, jobId?: string): Extract<AgentMessage, { type: T }>[] {
      return received.filter((m): m is Extract<AgentMessage, { type: T }> => m.type === type && (jobId === undefined || ("job_id" in m && m.job_id === jobId)));
    },
    send(message: EdgeMessage | string): void {
      current?.send(typeof message === "string" ? message : JSON.stringify(message));
    },
    /** While set, a hello waits for `releaseWelcome()` (the agent stays unwelcomed). */
    set holdWelcome(v: boolean) {
      holdWelcome = v;
    },
    get helloWaiting(): boolean {
      return held !== null;
    },
    releaseWelcome(): void {
      holdWelcome = false;
      held?.();
      held = null;
    },
    /** Drops the agent's socket without a close frame. */
    drop(): void {
      current?.terminate();
      current = null;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Arrival {
  taskId: string;
  at: number;
  /** The `webhook-id` header: one event keeps it through its retries. */
  eventId: string;
  /** The body's `type` (`task.success`, ...). */
  type: string;
}

export interface WebhookReceivers {
  /** Answers 200 at once and records each delivery's arrival. */
  readonly okUrl: string;
  /** Answers 200 only after `slowMs` (longer than the edge's request timeout). */
  readonly slowUrl: string;
  /** A port nobody listens on: every delivery is refused. */
  readonly deadUrl: string;
  readonly arrivals: Arrival[];
  /** Deliveries the slow receiver has seen (each held until it answers or the edge gives up). */
  slowHits: number;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, sockets, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => resolve(body));
    req.on("error", () => resolve(body));
  });
}

/** Three webhook receivers of the gray-failure run: a prompt one, a 15 s one and a dead one. */
export async function startWebhookReceivers(slowMs = 15_000): Promise<WebhookReceivers> {
  const timers = new Set<NodeJS.Timeout>();
  const arrivals: Arrival[] = [];
  const ok = await listen((req, res) => {
    void readBody(req).then((body) => {
      const at = Date.now();
      try {
        const event = JSON.parse(body) as { type?: unknown; data?: { task_id?: unknown } };
        const taskId = event.data?.task_id;
        if (typeof taskId === "string") arrivals.push({ taskId, at, eventId: String(req.headers["webhook-id"] ?? ""), type: String(event.type) });
      } catch {
        // Not a webhook body: nothing to record.
      }
      res.writeHead(200).end();
    });
  });
  const receivers: WebhookReceivers = {
    okUrl: ok.url,
    slowUrl: "",
    deadUrl: "",
    arrivals,
    slowHits: 0,
    close: async () => undefined,
  };
  const slow = await listen((req, res) => {
    receivers.slowHits++;
    void readBody(req).then(() => {
      const t = setTimeout(() => {
        timers.delete(t);
        res.writeHead(200).end();
      }, slowMs);
      timers.add(t);
    });
  });
  // Bind a port, then free it: connections to it are refused for the rest of the run.
  const dead = await listen(() => undefined);
  await new Promise<void>((resolve) => dead.server.close(() => resolve()));
  const closeOne = (s: { server: Server; sockets: Set<Socket> }) =>
    new Promise<void>((resolve) => {
      for (const sock of s.sockets) sock.destroy();
      s.server.close(() => resolve());
    });
  return Object.assign(receivers, {
    slowUrl: slow.url,
    deadUrl: dead.url,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all([closeOne(ok), closeOne(slow)]);
    },
  });
}

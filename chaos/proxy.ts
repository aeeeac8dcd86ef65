import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { WsFrameReader } from "./ws-frames.ts";

export type Direction = "up" | "down";

export interface CuttableProxy {
  /** `http://127.0.0.1:<port>`: give it to an agent as its edge URL. */
  url: string;
  /** Destroys every open connection at once, without a WebSocket close frame (a network cut). */
  cut(): number;
  /**
   * Half-opens every open connection: from now on their bytes are dropped both ways while
   * both ends stay open (no FIN, no RST), as a dead middlebox or a frozen NAT would. New
   * connections pass as usual. Returns how many links were stalled.
   */
  stall(): number;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of the edge. It passes bytes through untouched, reports every text
 * WebSocket message in each direction (`up`: agent → edge, `down`: edge → agent), and can
 * cut its connections as a dropped network would. The target port stays fixed, so an edge
 * restarted on the same port is reached again by new connections.
 */
export async function startProxy(targetPort: number, onMessage: (dir: Direction, text: string) => void = () => {}): Promise<CuttableProxy> {
  const open = new Set<Socket>();
  const stalled = new WeakSet<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    const up = new WsFrameReader((t) => onMessage("up", t));
    const down = new WsFrameReader((t) => onMessage("down", t));
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (d: Buffer) => {
      if (stalled.has(client)) return;
      up.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      if (stalled.has(client)) return;
      down.push(d);
      client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      const n = open.size / 2;
      for (const s of open) s.destroy();
      open.clear();
      return n;
    },
    stall() {
      let n = 0;
      for (const s of open) {
        if (stalled.has(s)) continue;
        stalled.add(s);
        n++;
      }
      return n / 2;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}

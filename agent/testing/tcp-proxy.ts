import { createServer, connect, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { ServerFrameBoundary, serverTextFrame } from "./ws-frames.ts";

type Link = { client: Socket; upstream: Socket; muted: boolean; frames: ServerFrameBoundary; pending: Buffer[] };

export type TcpProxy = {
  url: string;
  /** Connections the client tried, refused ones included. */
  readonly attempts: number;
  /** Drops every open connection at once (as a network blip does to a WebSocket); new ones still get through. */
  cut(): number;
  /** While on, new connections are closed at once: the server is unreachable. */
  refuse(on: boolean): void;
  /** From now on, what the server sends on the open connections is lost (the client's bytes still arrive). */
  muteServer(): void;
  /** Slips a WebSocket text frame to the newest connection's client, between the server's own frames. */
  injectText(text: string): void;
  close(): Promise<void>;
};

/**
 * A TCP relay in front of a server, for tests: a network fault injector (cuts, an
 * unreachable server, lost replies, garbage frames); the server behind it is the real one.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const links = new Set<Link>();
  let newest: Link | null = null;
  let refusing = false;
  let attempts = 0;
  const server = createServer((client) => {
    attempts += 1;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    const link: Link = { client, upstream, muted: false, frames: new ServerFrameBoundary(), pending: [] };
    links.add(link);
    newest = link;
    const drop = () => {
      client.destroy();
      upstream.destroy();
      links.delete(link);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (d: Buffer) => upstream.write(d));
    upstream.on("data", (d: Buffer) => {
      if (link.muted) return;
      link.frames.feed(d);
      client.write(d);
      if (link.frames.atBoundary) for (const f of link.pending.splice(0)) client.write(f);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const destroyAll = () => {
    const n = links.size;
    for (const l of links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    links.clear();
    return n;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    get attempts() {
      return attempts;
    },
    cut: destroyAll,
    refuse: (on) => {
      refusing = on;
    },
    muteServer: () => {
      for (const l of links) l.muted = true;
    },
    injectText: (text) => {
      const link = newest;
      if (!link || !links.has(link)) throw new Error("no open connection to inject into");
      const frame = serverTextFrame(text);
      if (link.frames.atBoundary) link.client.write(frame);
      else link.pending.push(frame);
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll();
        server.close(() => resolve());
      }),
  };
}

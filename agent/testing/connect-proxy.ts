import { createServer, request as forward, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";

export type CountingProxy = {
  /** `http://127.0.0.1:<port>`: what HTTP_PROXY / HTTPS_PROXY name. */
  url: string;
  /** Each `host:port` asked for, in order: a CONNECT tunnel, or a forwarded request's target. */
  readonly targets: string[];
  close(): Promise<void>;
};

/**
 * An HTTP proxy on 127.0.0.1 for tests: CONNECT tunnels and forwarded absolute-URI requests,
 * every one counted. `routes` maps the `host:port` a client asks for to where the proxy really
 * connects, so names that resolve nowhere (`*.invalid`) reach a local server only through it;
 * a target with no route is refused (502).
 */
export async function startCountingProxy(routes: Readonly<Record<string, string>>): Promise<CountingProxy> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/");
    targets.push(url.host);
    const to = routes[url.host];
    if (to === undefined) return void res.writeHead(502).end();
    const [hostname, port] = hostPort(to);
    const upstream = forward({ hostname, port, method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    const asked = req.url ?? "";
    targets.push(asked);
    const to = routes[asked];
    if (to === undefined) return void client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
    const [hostname, port] = hostPort(to);
    const upstream = connect(port, hostname, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function hostPort(hostAndPort: string): [string, number] {
  const at = hostAndPort.lastIndexOf(":");
  return [hostAndPort.slice(0, at), Number(hostAndPort.slice(at + 1))];
}

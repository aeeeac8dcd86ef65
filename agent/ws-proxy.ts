import type { Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";
import Client from "undici/lib/dispatcher/client.js";
import type { ClientOptions } from "ws";
import { isLoopback, type ProxyEnv } from "./http-dispatcher.ts";

/** ws hands this its request options (`host`, `port`, `timeout`: its handshake timeout…) and a callback. */
type CreateConnection = (options: ConnectionOptions & { host?: string; port?: number | string; timeout?: number }, done: (err: Error | null, socket?: Socket) => void) => undefined;

/**
 * The `ws` option that carries a WebSocket through the proxy the environment names for its URL
 * (`HTTPS_PROXY` for wss, `HTTP_PROXY` for ws and as the fallback, `NO_PROXY` honoured, loopback
 * never proxied; as originDispatcher decides for HTTP): a CONNECT tunnel opened with undici's
 * `connect`, TLS to the server inside it for wss. `{}` when the socket goes direct.
 *
 * @example new WebSocket(url, { handshakeTimeout: 10_000, ...webSocketProxy(url) })
 */
export function webSocketProxy(wsUrl: string, env: ProxyEnv = process.env): Pick<ClientOptions, "createConnection"> {
  const url = new URL(wsUrl);
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? "";
  const proxy = secure ? env.https_proxy ?? env.HTTPS_PROXY ?? httpProxy : httpProxy;
  const port = Number(url.port) || (secure ? 443 : 80);
  if (proxy === "" || isLoopback(url.hostname) || exempted(url.hostname, port, env.no_proxy ?? env.NO_PROXY ?? "")) return {};
  const proxyUrl = new URL(proxy);
  const authority = `${url.hostname}:${port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxyUrl.username) {
    headers["proxy-authorization"] = `Basic ${Buffer.from(`${decodeURIComponent(proxyUrl.username)}:${decodeURIComponent(proxyUrl.password)}`).toString("base64")}`;
  }
  const createConnection: CreateConnection = (options, done) => {
    const client = new Client(proxyUrl.origin);
    const signal = AbortSignal.timeout(options.timeout ?? 30_000);
    client
      .connect({ path: authority, headers, signal })
      .then(({ statusCode, socket }) => {
        if (statusCode !== 200) {
          socket.destroy();
          throw new Error(`proxy ${proxyUrl.host} refused the tunnel to ${authority} (HTTP ${statusCode})`);
        }
        const servername = url.hostname.replace(/^\[(.*)\]$/, "$1");
        // node:tls only here, not as an ES import: importing a built-in as an ES module reads every
        // export, and `tls.rootCertificates` then turns the bundled CA store into strings that stay.
        done(null, secure ? process.getBuiltinModule("node:tls").connect({ ...options, socket: socket as Socket, servername }) : (socket as Socket));
      })
      .catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))))
      // The tunnel's socket is the caller's now; the client that asked for it is done.
      .finally(() => void client.close().catch(() => undefined));
    return undefined;
  };
  // ws hands it to http.request, which takes this callback form too (Node's
  // ClientRequestArgs.createConnection); @types/ws types it as net.createConnection only.
  return { createConnection: createConnection as unknown as ClientOptions["createConnection"] };
}

/** `NO_PROXY` as undici reads it: `*` for all, else names (a leading `.` or `*.` for subdomains too), each with an optional port. */
function exempted(hostname: string, port: number, noProxy: string): boolean {
  if (noProxy.trim() === "*") return true;
  const host = hostname.toLowerCase();
  return noProxy.split(/[,\s]+/).filter(Boolean).some((entry) => {
    const m = /^(.+):(\d+)$/.exec(entry);
    if (m && Number(m[2]) !== port) return false;
    const name = (m ? m[1]! : entry).replace(/^\*?\./, "").toLowerCase();
    return host === name || host.endsWith(`.${name}`);
  });
}

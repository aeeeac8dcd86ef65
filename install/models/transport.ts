import http from "node:http";
import https from "node:https";
import { DownloadError } from "./errors.ts";

/**
 * Where to really connect for a host: `{ "huggingface.co": "http://127.0.0.1:8080" }`.
 * The request still carries the original `Host`, so a mirror (or a test server) sees which
 * host was meant; redirects and token rules keep working on the original names.
 */
export type HostMap = Readonly<Record<string, string>>;

export type HttpResponse = {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
};

/** One GET, no redirect following: the seam tests and mirrors plug into. */
export type Transport = (url: URL, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<HttpResponse>;

export type NodeTransportOptions = {
  hostMap?: HostMap;
  /** Give up on a connection that sends nothing for this long. @defaultValue 60_000 */
  idleTimeoutMs?: number;
};

const USER_AGENT = "comfy-edge-models/1";

/** A `Transport` over `node:http`/`node:https` (no redirects, no decompression). */
export function nodeTransport(options: NodeTransportOptions = {}): Transport {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const hostMap = options.hostMap ?? {};

  return (url, init) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const mapped = hostMap[url.host] ?? hostMap[url.hostname];
      const target = mapped === undefined ? url : new URL(mapped);
      const secure = target.protocol === "https:";
      const request = (secure ? https : http).request({
        method: "GET",
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port === "" ? undefined : Number(target.port),
        path: `${url.pathname}${url.search}`,
        headers: { "user-agent": USER_AGENT, ...init.headers, host: url.host },
        ...(secure ? { servername: url.hostname } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      });
      request.setTimeout(idleTimeoutMs, () => {
        request.destroy(new DownloadError("network", `no data from ${url.host} for ${Math.round(idleTimeoutMs / 1000)}s`, true));
      });
      request.once("error", reject);
      request.once("response", (body) => resolve({ status: body.statusCode ?? 0, headers: body.headers, body }));
      request.end();
    });
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { ComfyError } from "./comfy/errors.ts";
import { ComfyHttp } from "./comfy/http.ts";
import { putStream } from "./http-put.ts";
import { startCountingProxy, type CountingProxy } from "./testing/connect-proxy.ts";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A server on 127.0.0.1 answering every request with its method and path; it counts connections. */
async function origin(): Promise<{ hostPort: string; url: string; seen: string[]; connections: () => number }> {
  const seen: string[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ key: req.url }));
    });
  });
  server.on("connection", () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  const hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { hostPort, url: `http://${hostPort}`, seen, connections: () => connections };
}

async function proxy(routes: Record<string, string>): Promise<CountingProxy> {
  const p = await startCountingProxy(routes);
  closers.push(() => p.close());
  return p;
}

function comfy(url: string, env: Record<string, string>): ComfyHttp {
  const http = new ComfyHttp(url, { env, timeoutMs: 10_000 });
  closers.push(() => http.close());
  return http;
}

// `*.invalid` never resolves (RFC 6761): a request to one arrives only through the proxy.
describe("HTTP(S)_PROXY from the environment", () => {
  test("a remote ComfyUI is reached through HTTP_PROXY: one tunnel, kept alive for every request", async () => {
    const server = await origin();
    const p = await proxy({ "comfy.invalid:8188": server.hostPort });
    const http = comfy("http://comfy.invalid:8188", { HTTP_PROXY: p.url });
    for (const path of ["/queue", "/history/a", "/system_stats"]) expect((await http.text({ path })).status).toBe(200);
    expect(server.seen).toEqual(["GET /queue", "GET /history/a", "GET /system_stats"]);
    expect(p.targets).toEqual(["comfy.invalid:8188"]);
  });

  test("NO_PROXY exempts a host: the request goes direct (and here fails to resolve), the proxy sees nothing", async () => {
    const server = await origin();
    const p = await proxy({ "comfy.invalid:8188": server.hostPort });
    const http = comfy("http://comfy.invalid:8188", { http_proxy: p.url, no_proxy: "example.com, .invalid" });
    const err = await http.text({ path: "/queue" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
    expect((err as ComfyError).message).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(p.targets).toEqual([]);
  });

  test("a ComfyUI on loopback is never proxied, whatever the environment says", async () => {
    const server = await origin();
    const p = await proxy({});
    const http = comfy(server.url, { HTTP_PROXY: p.url, HTTPS_PROXY: p.url });
    expect((await http.text({ path: "/queue" })).status).toBe(200);
    expect(p.targets).toEqual([]);
  });

  test("uploads to a remote edge go through the proxy, on one kept-alive tunnel", async () => {
    const server = await origin();
    const p = await proxy({ "edge.invalid:80": server.hostPort });
    const env = { HTTP_PROXY: p.url };
    for (const i of [0, 1, 2]) {
      const res = await putStream(`http://edge.invalid/upload/j/${i}?sig=s`, Buffer.from("png"), { "content-type": "image/png", "content-length": "3" }, { timeoutMs: 10_000, env });
      expect(res).toEqual({ status: 200, text: JSON.stringify({ key: `/upload/j/${i}?sig=s` }) });
    }
    expect(server.seen).toEqual(["PUT /upload/j/0?sig=s", "PUT /upload/j/1?sig=s", "PUT /upload/j/2?sig=s"]);
    expect(p.targets).toEqual(["edge.invalid:80"]);
    expect(server.connections()).toBe(1);
  });
});

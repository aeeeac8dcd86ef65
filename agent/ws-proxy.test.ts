import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { startCountingProxy } from "./testing/connect-proxy.ts";
import { webSocketProxy } from "./ws-proxy.ts";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A WebSocket server on 127.0.0.1 that echoes each text message with the path it was opened on. */
async function echoServer(): Promise<string> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  server.on("connection", (ws, req) => ws.on("message", (data) => ws.send(`${req.url} ${String(data)}`)));
  await new Promise((r) => server.once("listening", r));
  closers.push(() => new Promise((r) => (server.clients.forEach((c) => c.terminate()), server.close(r))));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("webSocketProxy", () => {
  test("a WebSocket to a remote host goes through HTTP_PROXY as a CONNECT tunnel", async () => {
    const hostPort = await echoServer();
    const proxy = await startCountingProxy({ "edge.invalid:80": hostPort });
    closers.push(() => proxy.close());
    const url = "ws://edge.invalid/v1/agents/connect";
    const ws = new WebSocket(url, { handshakeTimeout: 10_000, ...webSocketProxy(url, { HTTP_PROXY: proxy.url }) });
    closers.push(() => ws.terminate());
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    const reply = new Promise<string>((resolve) => ws.once("message", (data) => resolve(String(data))));
    ws.send("hello");
    expect(await reply).toBe("/v1/agents/connect hello");
    expect(proxy.targets).toEqual(["edge.invalid:80"]);
  });

  test("a refused tunnel fails the handshake with the proxy's status", async () => {
    const proxy = await startCountingProxy({});
    closers.push(() => proxy.close());
    const url = "ws://edge.invalid/ws";
    const ws = new WebSocket(url, { handshakeTimeout: 10_000, ...webSocketProxy(url, { HTTP_PROXY: proxy.url }) });
    const err = await new Promise<Error>((resolve) => ws.once("error", resolve));
    expect(err.message).toBe("proxy " + new URL(proxy.url).host + " refused the tunnel to edge.invalid:80 (HTTP 502)");
  });

  test("direct (no option) without a proxy, for loopback, and for NO_PROXY hosts; wss uses HTTPS_PROXY", () => {
    const proxied = { HTTPS_PROXY: "http://proxy.lan:3128", NO_PROXY: "internal.example,edge.lan:8443" };
    expect(webSocketProxy("wss://edge.example.com/ws", {})).toEqual({});
    expect(webSocketProxy("ws://127.0.0.1:8188/ws", { HTTP_PROXY: "http://proxy.lan:3128" })).toEqual({});
    expect(webSocketProxy("wss://api.internal.example/ws", proxied)).toEqual({});
    expect(webSocketProxy("wss://edge.lan:8443/ws", proxied)).toEqual({});
    expect(webSocketProxy("wss://edge.lan/ws", proxied).createConnection).toBeTypeOf("function");
    expect(webSocketProxy("ws://edge.example.com/ws", proxied)).toEqual({});
  });
});

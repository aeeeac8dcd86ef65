import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { deliverOutputs } from "../deliver.ts";
import { ComfyClient } from "./client.ts";
import { ComfyError } from "./errors.ts";
import { ComfyHttp } from "./http.ts";

type Stub = {
  url: string;
  connections: () => number;
  /** `connection`: which TCP connection (1, 2, …, in the order they opened) carried the request. */
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: Buffer; connection: number }[];
};

const servers: Server[] = [];
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((r) => {
          s.closeAllConnections();
          s.close(r);
        }),
    ),
  );
});

/** A server on 127.0.0.1 that counts TCP connections and hands each request (body read) to `handle`. */
async function stub(handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<Stub> {
  let connections = 0;
  const connectionOf = new WeakMap<object, number>();
  const requests: Stub["requests"] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, connection: connectionOf.get(req.socket) ?? 0 });
      handle(req, res, body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => connectionOf.set(socket, (connections += 1)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, requests };
}

function client<T extends { close(): void }>(c: T): T {
  clients.push(c);
  return c;
}

const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const never = () => {};

describe("ComfyHttp", () => {
  test("control calls never wait behind /view bodies still being read", async () => {
    const s = await stub((req, res) => {
      if (req.url?.startsWith("/view")) {
        res.writeHead(200, { "content-type": "image/png", "content-length": "100" });
        res.write(Buffer.alloc(10)); // and the rest never comes: the body stays open
        return;
      }
      json(res, { queue_running: [], queue_pending: [] });
    });
    const comfy = client(new ComfyClient(s.url, { requestTimeoutMs: 2_000 }));
    const held = await Promise.all(Array.from({ length: 12 }, (_, i) => comfy.view({ filename: `${i}.png`, subfolder: "", type: "output" })));
    expect(await comfy.queue()).toEqual({ running: [], pending: [] });
    for (const v of held) v.body.destroy();
  });

  test("sequential requests share one keep-alive connection, bodies and /view streams included", async () => {
    const image = Buffer.alloc(50_000, 7);
    const s = await stub((req, res) => {
      if (req.url?.startsWith("/view")) {
        res.writeHead(req.url.includes("absent") ? 404 : 200, { "content-type": "image/png", "content-length": req.url.includes("absent") ? 9 : image.length });
        res.end(req.url.includes("absent") ? "not found" : image);
        return;
      }
      json(res, { queue_running: [], queue_pending: [] });
    });
    const comfy = client(new ComfyClient(s.url));
    expect(await comfy.queue()).toEqual({ running: [], pending: [] });
    await comfy.deleteQueued(["p1"]);
    const viewed = await comfy.view({ filename: "a.png", subfolder: "", type: "output" });
    expect(Buffer.concat(await viewed.body.toArray()).equals(image)).toBe(true);
    const missing = await comfy.view({ filename: "absent.png", subfolder: "", type: "output" }).catch((e: unknown) => e);
    expect((missing as ComfyError).status).toBe(404);
    expect(await comfy.queue()).toEqual({ running: [], pending: [] });
    expect(s.requests.map((r) => r.method)).toEqual(["GET", "POST", "GET", "GET", "GET"]);
    expect(JSON.parse(s.requests[1]?.body.toString() ?? "")).toEqual({ delete: ["p1"] });
    expect(s.connections()).toBe(1);
  });

  test("a request past its limit is comfyui_unavailable, and the stuck socket is not reused", async () => {
    const s = await stub((req, res) => (req.url === "/stuck" ? never() : json(res, { ok: true })));
    const http = client(new ComfyHttp(s.url, { timeoutMs: 200 }));
    const err = await http.text({ path: "/stuck" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
    expect((err as ComfyError).message).toBe(`ComfyUI at ${s.url} is unreachable (/stuck): timed out after 200 ms`);
    const ok = await http.text({ path: "/fine" });
    expect(JSON.parse(ok.text)).toEqual({ ok: true });
    // (undici may also open a spare connection as it drops the aborted request: not counted here.)
    const [stuck, fine] = s.requests;
    expect(fine?.connection).not.toBe(stuck?.connection);
  });

  test("an aborted caller signal rejects with its reason, before the reply and during a streamed body", async () => {
    const s = await stub((req, res) => {
      if (req.url === "/stuck") return;
      res.writeHead(200, { "content-length": 1000 });
      res.write(Buffer.alloc(10));
    });
    const http = client(new ComfyHttp(s.url));
    const before = new AbortController();
    const reason = new Error("job cancelled");
    const pending = http.text({ path: "/stuck", signal: before.signal }).catch((e: unknown) => e);
    await until(() => s.requests.length === 1);
    before.abort(reason);
    expect(await pending).toBe(reason);

    const during = new AbortController();
    const streamed = await http.stream({ path: "/half", signal: during.signal, timeoutMs: null });
    if (!("body" in streamed)) throw new Error(`expected a stream, got HTTP ${streamed.status}`);
    const read = streamed.body.toArray().catch((e: unknown) => e);
    during.abort(reason);
    expect(await read).toBe(reason);

    const already = await http.text({ path: "/stuck", signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(already).toBe(reason);
    expect(s.requests).toHaveLength(2);
  });

  test("a refused connection names ComfyUI, the path and the error code", async () => {
    const s = await stub(never);
    servers.pop()?.close();
    const err = await client(new ComfyClient(s.url)).queue().catch((e: unknown) => e);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
    expect((err as ComfyError).message).toBe(`ComfyUI at ${s.url} is unreachable (/queue): ECONNREFUSED`);
  });

  test("a reply that is not JSON is comfyui_error quoting the body", async () => {
    const s = await stub((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>proxy error</html>");
    });
    const err = await client(new ComfyClient(s.url)).queue().catch((e: unknown) => e);
    expect((err as ComfyError).code).toBe("comfyui_error");
    expect((err as ComfyError).message).toBe("GET /queue: body is not JSON: <html>proxy error</html>");
  });

  /** The second request arrives on the first connection: dropped unanswered, as a server closing an idle socket does. */
  async function dropsTheSecondRequest(): Promise<Stub> {
    let served = 0;
    return stub((req, res) => {
      served += 1;
      if (served === 2) return req.socket.destroy();
      json(res, { n: served });
    });
  }

  test("a GET on a keep-alive socket the server dropped is resent once on a fresh one", async () => {
    const s = await dropsTheSecondRequest();
    const http = client(new ComfyHttp(s.url));
    expect(JSON.parse((await http.text({ path: "/a" })).text)).toEqual({ n: 1 });
    expect(JSON.parse((await http.text({ path: "/b" })).text)).toEqual({ n: 3 });
    expect(s.connections()).toBe(2);
    const post = await http.text({ method: "POST", path: "/c", body: "{}" });
    expect(post.status).toBe(200);
  });

  test("a POST on a keep-alive socket the server dropped is not resent (a prompt must never run twice)", async () => {
    const s = await dropsTheSecondRequest();
    const http = client(new ComfyHttp(s.url));
    await http.text({ path: "/a" });
    const err = await http.text({ method: "POST", path: "/prompt", body: "{}" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
    expect(s.requests.filter((r) => r.url === "/prompt")).toHaveLength(1);
  });

  test("a /view stream is piped into the upload PUT with its exact length, over kept-alive sockets", async () => {
    const image = Buffer.alloc(300_000);
    for (let i = 0; i < image.length; i++) image[i] = i % 251;
    const comfyStub = await stub((_req, res) => {
      res.writeHead(200, { "content-type": "image/png", "content-length": image.length });
      res.end(image);
    });
    const storage = await stub((req, res) => json(res, { key: `r2${req.url?.split("?")[0]}` }));
    const comfy = client(new ComfyClient(comfyStub.url));
    const grant = { base_url: `${storage.url}/upload/job-1`, exp: 1_900_000_000, sig: "sig", max_files: 2, max_bytes: 1_000_000 };
    const file = { node_id: "9", key: "images", filename: "out.png", subfolder: "", type: "output" };
    const outputs = await deliverOutputs(comfy, [file, { ...file, filename: "out2.png" }], grant, { type: "png", quality: 90 });
    expect(outputs.map((o) => [o.key, o.bytes, o.content_type])).toEqual([
      ["r2/upload/job-1/0", image.length, "image/png"],
      ["r2/upload/job-1/1", image.length, "image/png"],
    ]);
    for (const put of storage.requests) {
      expect(put.method).toBe("PUT");
      expect(put.headers["content-length"]).toBe(String(image.length));
      expect(put.headers["transfer-encoding"]).toBeUndefined();
      expect(put.body.equals(image)).toBe(true);
    }
    expect(comfyStub.connections()).toBe(1);
    expect(storage.connections()).toBe(1);
  });
});

/** Polls a condition (bounded); not a timing assertion. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error("condition never held");
}

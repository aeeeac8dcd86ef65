import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import { ComfyError } from "./comfy/errors.ts";
import { ComfyHttp } from "./comfy/http.ts";
import { putStream } from "./http-put.ts";

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Answers each PUT `{key}` once its body is in; records bodies and counts connections. */
async function storage(): Promise<{ url: string; bodies: string[]; connections: () => number }> {
  const bodies: string[] = [];
  let connections = 0;
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks).toString());
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ key: req.url }));
    });
  });
  server.on("connection", () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, connections: () => connections };
}

/** Accepts TCP connections and never reads or writes a byte. */
async function silent(): Promise<{ url: string; accepted: () => number }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(r))));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => sockets.size };
}

/** A port nothing listens on (bound, then closed). */
async function refusedUrl(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

const png = (n: number) => ({ "content-type": "image/png", "content-length": String(n) });

describe("putStream", () => {
  test("PUTs one after another, streamed or buffered, share one kept-alive connection", async () => {
    const s = await storage();
    for (let i = 0; i < 5; i++) {
      const body = i % 2 ? Buffer.from(`file-${i}`) : Readable.from([Buffer.from("file-"), Buffer.from(String(i))]);
      const res = await putStream(`${s.url}/upload/j/${i}?sig=x`, body, png(6), { timeoutMs: 10_000 });
      expect(res).toEqual({ status: 200, text: JSON.stringify({ key: `/upload/j/${i}?sig=x` }) });
    }
    expect(s.bodies).toEqual(["file-0", "file-1", "file-2", "file-3", "file-4"]);
    expect(s.connections()).toBe(1);
  });

  test("a server that accepts and never answers: rejected at the limit with code ETIMEDOUT", async () => {
    const s = await silent();
    const err = await putStream(`${s.url}/upload/j/0`, Buffer.from("abc"), png(3), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ETIMEDOUT", message: "PUT timed out after 300 ms" });
    expect(s.accepted()).toBe(1);
  });

  test("a refused connection rejects with the system error's code; an aborted one with the signal's reason", async () => {
    const refused = await putStream(`${await refusedUrl()}/upload/j/0`, Buffer.from("abc"), png(3), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "ECONNREFUSED" });

    const s = await silent();
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    const pending = putStream(`${s.url}/upload/j/0`, Buffer.from("abc"), png(3), { timeoutMs: 10_000, signal: controller.signal }).catch((e: unknown) => e);
    await until(() => s.accepted() === 1);
    controller.abort(reason);
    expect(await pending).toBe(reason);
  });
});

describe("ComfyHttp against a server that accepts and never answers", () => {
  test("each request is comfyui_unavailable at its limit, as before", async () => {
    const s = await silent();
    const http = new ComfyHttp(s.url, { timeoutMs: 300 });
    closers.push(() => http.close());
    const err = await http.text({ path: "/queue" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).message).toBe(`ComfyUI at ${s.url} is unreachable (/queue): timed out after 300 ms`);
    const streamed = await http.stream({ path: "/view?filename=a.png", timeoutMs: 300 }).catch((e: unknown) => e);
    expect((streamed as ComfyError).code).toBe("comfyui_unavailable");
  });
});

/** Polls a condition (bounded); not a timing assertion. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error("condition never held");
}

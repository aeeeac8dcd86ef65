import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import type { UploadGrant } from "../shared/protocol.ts";
import { uploadFile, uploadUrl, UploadError, type UploadSource } from "./upload.ts";

type Seen = { method: string; url: string; headers: IncomingMessage["headers"]; body: Buffer };

/** A storage stand-in: answers each PUT with the next planned status (then 200). */
async function storage(plan: number[] = []): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      const status = plan.shift() ?? 200;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 200 ? JSON.stringify({ key: `jobs/j1${req.url?.split("?")[0]}` }) : JSON.stringify({ error: { code: "x", message: "no" } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function grant(baseUrl: string, over: Partial<UploadGrant> = {}): UploadGrant {
  return { base_url: `${baseUrl}/upload/j1`, exp: 1_900_000_000, sig: "s+g/=", max_files: 4, max_bytes: 1024, ...over };
}

function source(bytes: Uint8Array, known = true): () => Promise<UploadSource> {
  return async () => ({
    body: Readable.from([bytes.slice(0, 3), bytes.slice(3)]),
    bytes: known ? bytes.byteLength : null,
    contentType: "image/webp",
  });
}

const payload = new TextEncoder().encode("RIFF....WEBPdata");

describe("uploadFile", () => {
  test("PUTs the stream to the signed URL for its index with type and length, and returns the key", async () => {
    const s = await storage();
    const result = await uploadFile(grant(s.url), 2, source(payload));
    expect(result).toEqual({ key: "jobs/j1/upload/j1/2", bytes: payload.byteLength });
    expect(s.seen).toHaveLength(1);
    const [put] = s.seen;
    expect(put?.method).toBe("PUT");
    expect(put?.url).toBe("/upload/j1/2?exp=1900000000&sig=s%2Bg%2F%3D");
    expect(put?.headers["content-type"]).toBe("image/webp");
    expect(put?.headers["content-length"]).toBe(String(payload.byteLength));
    expect(put?.body.equals(Buffer.from(payload))).toBe(true);
    expect(uploadUrl({ ...grant("http://h"), base_url: "http://h/up/" }, 0)).toBe("http://h/up/0?exp=1900000000&sig=s%2Bg%2F%3D");
  });

  test("retries a 500 with a fresh stream and succeeds", async () => {
    const s = await storage([500, 503]);
    let opened = 0;
    const open = source(payload);
    const result = await uploadFile(grant(s.url), 0, () => {
      opened += 1;
      return open();
    }, { retries: 3, minTimeoutMs: 1 });
    expect(result.key).toBe("jobs/j1/upload/j1/0");
    expect(s.seen).toHaveLength(3);
    expect(opened).toBe(3);
    expect(s.seen.every((r) => r.body.equals(Buffer.from(payload)))).toBe(true);
  });

  test("a 403 is final: one request, an upload_rejected error", async () => {
    const s = await storage([403]);
    const err = await uploadFile(grant(s.url), 0, source(payload), { retries: 3, minTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe("upload_rejected");
    expect((err as UploadError).status).toBe(403);
    expect(s.seen).toHaveLength(1);
  });

  test("gives up after the retries with upload_failed", async () => {
    const s = await storage([500, 500, 500]);
    const err = await uploadFile(grant(s.url), 0, source(payload), { retries: 2, minTimeoutMs: 1 }).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("upload_failed");
    expect((err as UploadError).retryable).toBe(true);
    expect(s.seen).toHaveLength(3);
  });

  test("a network error is retried", async () => {
    const s = await storage();
    const dead = await storage();
    await new Promise((r) => dead.server.close(r));
    let attempt = 0;
    const err = await uploadFile(grant(dead.url), 0, source(payload), { retries: 1, minTimeoutMs: 1, onRetry: () => (attempt += 1) }).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("upload_failed");
    expect((err as UploadError).message).toMatch(/^upload to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
    expect(attempt).toBe(2);
    expect(s.seen).toHaveLength(0);
  });

  test("a file over max_bytes is refused before any request, known length or not", async () => {
    const s = await storage();
    const big = new Uint8Array(2048);
    for (const known of [true, false]) {
      const err = await uploadFile(grant(s.url), 0, source(big, known)).catch((e: unknown) => e);
      expect((err as UploadError).code).toBe("output_too_large");
      expect((err as UploadError).retryable).toBe(false);
    }
    expect(s.seen).toHaveLength(0);
  });

  test("an unknown length is counted so Content-Length is still exact", async () => {
    const s = await storage();
    await uploadFile(grant(s.url), 1, source(payload, false));
    expect(s.seen[0]?.headers["content-length"]).toBe(String(payload.byteLength));
  });

  test("an output over 1 MiB streams: its PUT is under way before ComfyUI has sent all of it", async () => {
    let headersSeen: () => void = () => undefined;
    const requested = new Promise<void>((r) => (headersSeen = r));
    const seen: Buffer[] = [];
    const server = createServer((req, res) => {
      headersSeen();
      req.on("data", (c: Buffer) => seen.push(c));
      req.on("end", () => res.end(JSON.stringify({ key: "jobs/j1/big" })));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    const half = Buffer.alloc(768 * 1024, 7);
    const body = new Readable({ read() {} });
    body.push(half);
    // The second half comes only once the PUT has arrived: a reader that waited for the whole file would never send it.
    void requested.then(() => {
      body.push(half);
      body.push(null);
    });
    const result = await uploadFile(grant(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { max_bytes: 4 << 20 }), 0, async () => ({ body, bytes: 2 * half.length, contentType: "image/png" }));
    expect(result).toEqual({ key: "jobs/j1/big", bytes: 2 * half.length });
    expect(Buffer.concat(seen).equals(Buffer.concat([half, half]))).toBe(true);
  });

  test("an output that stalls mid-body fails its attempt after the stall limit, and the next attempt reads it afresh", async () => {
    const s = await storage();
    let opened = 0;
    const result = await uploadFile(grant(s.url), 0, async () => {
      opened += 1;
      if (opened > 1) return source(payload)();
      const stalling = new Readable({ read() {} });
      stalling.push(payload.slice(0, 4));
      return { body: stalling, bytes: payload.byteLength, contentType: "image/webp" };
    }, { retries: 2, minTimeoutMs: 1, timeoutMs: 100 });
    expect(result.key).toBe("jobs/j1/upload/j1/0");
    expect(opened).toBe(2);
    expect(s.seen).toHaveLength(1);
    expect(s.seen[0]?.body.equals(Buffer.from(payload))).toBe(true);
    const stalled = new Readable({ read() {} });
    const err = await uploadFile(grant(s.url), 1, async () => ({ body: stalled, bytes: 10, contentType: "image/webp" }), { retries: 0, timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "upload_failed", retryable: true, message: "reading the output from ComfyUI failed: ETIMEDOUT: the body stalled for 50 ms" });
  });

  test("an index beyond max_files is refused", async () => {
    const s = await storage();
    const err = await uploadFile(grant(s.url, { max_files: 1 }), 1, source(payload)).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("upload_rejected");
    expect(s.seen).toHaveLength(0);
  });
});

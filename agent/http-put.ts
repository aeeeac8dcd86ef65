import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * One streaming PUT with an exact Content-Length, over node:http(s) rather than fetch: it
 * does not depend on the process's global fetch dispatcher (which a host process may
 * replace) and streams without buffering.
 */
export function putStream(
  url: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, { method: "PUT", headers, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        // Only the small JSON reply matters; a huge error page is cut short.
        if (size < 64 * 1024) chunks.push(c);
        size += c.length;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body instanceof Uint8Array) req.end(body);
    else pipeline(Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>), req).catch(reject);
  });
}

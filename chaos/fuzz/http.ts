import http from "node:http";

export interface RawRequest {
  method: string;
  /** Path and query, already percent-encoded as they go on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface RawResponse {
  status: number;
  contentType: string;
  /** At most the first 256 KiB (streams such as SSE are cut after their first bytes). */
  text: string;
}

const MAX_READ = 256 * 1024;

/**
 * One HTTP request exactly as given (any method, any body on any method, odd headers),
 * which `fetch` would refuse to send. Streams and upgrades are cut once the status is known.
 */
export function rawRequest(base: string, req: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers: req.headers, agent: false, timeout: timeoutMs },
      (res) => {
        const contentType = String(res.headers["content-type"] ?? "");
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, contentType, text: Buffer.concat(chunks).toString("utf8") });
        };
        if (contentType.includes("text/event-stream")) return finish();
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size > MAX_READ) finish();
        });
        res.on("end", finish);
        res.on("error", finish);
      },
    );
    r.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, contentType: "", text: "" });
    });
    r.on("timeout", () => r.destroy(new Error(`${req.method} ${req.path.slice(0, 80)}: no answer within ${timeoutMs} ms`)));
    r.on("error", reject);
    r.end(req.body);
  });
}

import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for the Hugging Face Hub and its CDN on 127.0.0.1, for tests.
 * One server answers for every host; the downloader's host map sends the logical hosts here and
 * the `Host` header says which one was meant. Like the Hub, `/resolve/<rev>/` answers with a
 * redirect to a CDN host (carrying X-Linked-Etag and X-Repo-Commit); the CDN serves bytes with
 * Range and If-Range support.
 */
export const HUB_HOST = "huggingface.co";
export const CDN_HOST = "cdn-lfs.hub-cdn.test";
export const HF_CDN_HOST = "cdn-lfs.huggingface.co";
export const PLAIN_HOST = "files.example.test";

export type HubFile = {
  repo: string;
  revision: string;
  path: string;
  bytes: Buffer;
  /** Answer 401 unless `Authorization: Bearer <token>` comes with the Hub request. */
  gated?: boolean;
  /** Where the Hub redirects; default CDN_HOST. */
  cdnHost?: string;
  /** Hop through a relative same-host redirect first, as the Hub sometimes does. */
  relativeHop?: boolean;
  /** What the CDN really serves (a corrupted copy), while the Hub advertises the sha256 of `bytes`. */
  cdnBytes?: Buffer;
};

export type LoggedRequest = { host: string; path: string; authorization: string | null; range: string | null };

export type Hub = {
  origin: string;
  hostMap: Record<string, string>;
  requests: LoggedRequest[];
  /** Most body (CDN/plain) responses in flight at once. */
  maxConcurrentBodies(): number;
  /** The next body response for these bytes sends `afterBytes` and then drops the connection. */
  dropNextAfter(bytes: Buffer, afterBytes: number): void;
  /**
   * Hold body responses until `count` are in flight, then `graceMs` longer (time for a pool that
   * overshoots its limit to send one more), then release them together; with fewer than `count`
   * left, release after `fallbackMs`. Proves both parallelism and the limit.
   */
  holdBodiesUntil(count: number, graceMs: number, fallbackMs: number): void;
  close(): Promise<void>;
};

export const TOKEN = "hf_test_token_123";
export const COMMIT = "0123456789abcdef0123456789abcdef01234567";

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Random bytes of `size`, so a wrong offset or a mixed-up file cannot go unnoticed. */
export function makeBytes(size: number): Buffer {
  return randomBytes(size);
}

export async function startHub(files: HubFile[], plain: Record<string, Buffer> = {}): Promise<Hub> {
  const blobs = new Map<string, Buffer>();
  for (const file of files) blobs.set(sha256(file.bytes), file.cdnBytes ?? file.bytes);
  const drops = new Map<string, number>();
  const requests: LoggedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let hold: { count: number; graceMs: number; fallbackMs: number } | null = null;
  let waiting: Array<() => void> = [];
  let timer: { handle: NodeJS.Timeout; grace: boolean } | null = null;

  const releaseAll = () => {
    if (timer) clearTimeout(timer.handle);
    timer = null;
    const go = waiting;
    waiting = [];
    for (const send of go) send();
  };

  const serveBody = (req: http.IncomingMessage, res: http.ServerResponse, bytes: Buffer) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once("close", () => inFlight--);
    const go = () => sendBytes(req, res, bytes, drops);
    if (hold === null) return go();
    waiting.push(go);
    // Once `count` are held, wait a grace period in which a pool that overshoots would show itself.
    const full = inFlight >= hold.count;
    if (timer && (timer.grace || !full)) return;
    if (timer) clearTimeout(timer.handle);
    timer = { handle: setTimeout(releaseAll, full ? hold.graceMs : hold.fallbackMs), grace: full };
  };

  const server = http.createServer((req, res) => {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ host, path: url.pathname, authorization: req.headers.authorization ?? null, range: req.headers.range ?? null });

    if (host === HUB_HOST) return answerHub(req, res, url, files);
    if (host === CDN_HOST || host === HF_CDN_HOST) {
      const bytes = blobs.get(url.pathname.replace(/^\/blobs\//, ""));
      return bytes ? serveBody(req, res, bytes) : notFound(res);
    }
    // Plain hosts: the logical one via a host map, or this server addressed directly.
    if (host === PLAIN_HOST || host === "127.0.0.1") {
      const bytes = plain[url.pathname.slice(1)];
      return bytes ? serveBody(req, res, bytes) : notFound(res);
    }
    notFound(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    hostMap: { [HUB_HOST]: origin, [CDN_HOST]: origin, [HF_CDN_HOST]: origin, [PLAIN_HOST]: origin },
    requests,
    maxConcurrentBodies: () => maxInFlight,
    dropNextAfter: (bytes, afterBytes) => drops.set(sha256(bytes), afterBytes),
    holdBodiesUntil: (count, graceMs, fallbackMs) => {
      hold = { count, graceMs, fallbackMs };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerHub(req: http.IncomingMessage, res: http.ServerResponse, url: URL, files: HubFile[]): void {
  const hop = url.pathname.startsWith("/api/resolve-cache/");
  const pathname = hop ? url.pathname.replace("/api/resolve-cache", "") : url.pathname;
  const file = files.find((f) => pathname === `/${f.repo}/resolve/${encodeURIComponent(f.revision)}/${f.path}`);
  if (!file) return notFound(res);
  if (file.gated && req.headers.authorization !== `Bearer ${TOKEN}`) {
    res.writeHead(401, { "content-type": "text/plain" }).end("Access to this model is restricted.");
    return;
  }
  if (file.relativeHop && !hop) {
    res.writeHead(307, { location: `/api/resolve-cache${pathname}` }).end();
    return;
  }
  const sha = sha256(file.bytes);
  res
    .writeHead(302, {
      location: `https://${file.cdnHost ?? CDN_HOST}/blobs/${sha}?X-Amz-Signature=abc`,
      "x-linked-etag": `"${sha}"`,
      "x-linked-size": String(file.bytes.length),
      "x-repo-commit": COMMIT,
    })
    .end();
}

function sendBytes(req: http.IncomingMessage, res: http.ServerResponse, bytes: Buffer, drops: Map<string, number>): void {
  const etag = `"${sha256(bytes)}"`;
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  if (range && (ifRange === undefined || ifRange === etag)) {
    start = Number(range[1]);
    if (start >= bytes.length) {
      res.writeHead(416, { "content-range": `bytes */${bytes.length}` }).end();
      return;
    }
  }
  const body = bytes.subarray(start);
  const headers: http.OutgoingHttpHeaders = { "content-length": body.length, etag, "accept-ranges": "bytes" };
  if (start > 0) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  res.writeHead(start > 0 ? 206 : 200, headers);

  const dropAfter = drops.get(etag.replaceAll('"', ""));
  if (dropAfter !== undefined) {
    drops.delete(etag.replaceAll('"', ""));
    res.write(body.subarray(0, dropAfter), () => res.socket?.destroy());
    return;
  }
  res.end(body);
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { "content-type": "text/plain" }).end("Entry not found");
}

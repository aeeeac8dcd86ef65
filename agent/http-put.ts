import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

// Not `import ... from "node:http"`: its ESM namespace reads the lazy `WebSocket` export,
// which loads undici (about 10 MB of RSS) into a process that never uses it.
const http = process.getBuiltinModule("node:http");
const https = process.getBuiltinModule("node:https");

export type PutOptions = {
  /** Aborting rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Limit on the whole PUT, body and reply included; rejects with an error whose code is ETIMEDOUT. */
  timeoutMs: number;
};

// Node's agents pool per origin (host:port), so one of each serves every upload target.
// Idle sockets are unref'd by Node and closed after 4 s, before a server's idle limit. No cap
// on sockets: a capped pool would count the wait for a socket against an upload's timeout,
// and the agent's held jobs already bound how many uploads run at once.
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);

/** Only the small JSON reply matters; a huge error page is read off but not kept. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * One streaming PUT with an exact Content-Length, over node:http(s) keep-alive rather than
 * fetch: no web streams between a `/view` body and this request, one timer per PUT, and no
 * dependence on the process's global fetch dispatcher (which a host process may replace).
 */
export function putStream(
  url: string,
  body: Readable | Uint8Array,
  headers: Record<string, string>,
  opts: PutOptions,
): Promise<{ status: number; text: string }> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === "https:";
    let timer: NodeJS.Timeout | undefined;
    const detach = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const fail = (err: unknown) => {
      detach();
      reject(err);
    };
    // Destroying the request errors it (rejecting via its listener) and ends the piped body.
    const onAbort = () => req.destroy(signal?.reason as Error);
    const req = (secure ? https.request : http.request)(u, { method: "PUT", headers, agent: secure ? httpsAgent : httpAgent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < MAX_REPLY_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on("end", () => {
        detach();
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", fail);
    });
    req.on("error", fail);
    timer = setTimeout(() => req.destroy(Object.assign(new Error(`PUT timed out after ${opts.timeoutMs} ms`), { code: "ETIMEDOUT" })), opts.timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (body instanceof Uint8Array) req.end(body);
    else pipeline(body, req).catch(fail);
  });
}

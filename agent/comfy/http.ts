import type { Agent, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { ComfyError } from "./errors.ts";

// Not `import ... from "node:http"`: an ESM import reads every export of the module, and its
// lazy `WebSocket` getter loads undici (about 10 MB of RSS) into a process that never uses it.
const http = process.getBuiltinModule("node:http");
const https = process.getBuiltinModule("node:https");

export type HttpCall = {
  method?: "GET" | "POST";
  /** Path and query, appended to the base URL. */
  path: string;
  /** A stream body must come with its `content-length` header; it is sent once, never replayed. */
  body?: string | Buffer | Readable;
  headers?: OutgoingHttpHeaders;
  /**
   * Whether sending it twice is harmless: such a request is resent once when a reused
   * keep-alive socket turns out to be closed. @defaultValue true for GET, false otherwise
   */
  idempotent?: boolean;
  /** Aborting rejects with (and destroys any streamed body with) `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Limit in ms: for `text` (and a non-2xx `stream`), the whole exchange; for a 2xx `stream`,
   * until the headers arrive. null: none. Defaults to the client's.
   */
  timeoutMs?: number | null;
};

export type TextReply = { status: number; headers: IncomingHttpHeaders; text: string };
/** The caller owns `body`: it must read it to the end or destroy it, or its socket stays taken. */
export type StreamReply = { status: number; headers: IncomingHttpHeaders; body: IncomingMessage };

export type ComfyHttpOptions = {
  /** @defaultValue 30000 */
  timeoutMs?: number;
  /**
   * Connections open at once; further requests wait for a free one. Unlimited by default: a
   * `/view` body holds its socket until its upload ends, and a control call (`/prompt`,
   * `/interrupt`) must never wait behind those (the agent's own jobs bound the count).
   * @defaultValue Infinity
   */
  maxSockets?: number;
};

/** Idle keep-alive sockets close after this, before ComfyUI (aiohttp: 75 s) would close them under us. */
const IDLE_SOCKET_MS = 4_000;
/** Errors a request on a reused socket gets when the server closed it idle as we wrote: safe to resend. */
const STALE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE"]);

/**
 * ComfyUI's HTTP transport: node:http(s) over one keep-alive agent per client, one timer
 * per request. Connection failures and timeouts reject with `ComfyError("comfyui_unavailable")`;
 * an aborted caller signal rejects with its reason. Idle sockets are unref'd (they never
 * hold the process open); `close()` destroys them all.
 *
 * @example
 * const comfyHttp = new ComfyHttp("http://127.0.0.1:8188");
 * const { status, text } = await comfyHttp.text({ path: "/queue" });
 * comfyHttp.close();
 */
export class ComfyHttp {
  readonly baseUrl: string;
  readonly #agent: Agent;
  readonly #request: typeof http.request;
  readonly #hostname: string;
  readonly #port: string;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: ComfyHttpOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`ComfyUI URL must be http(s): ${baseUrl}`);
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const secure = url.protocol === "https:";
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? Infinity, timeout: IDLE_SOCKET_MS };
    this.#agent = secure ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.#request = secure ? https.request : http.request;
    this.#hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port;
    this.#prefix = url.pathname.replace(/\/+$/, "");
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** One request whose whole body is read as UTF-8 text. */
  text(call: HttpCall): Promise<TextReply> {
    return this.#send(call, "text") as Promise<TextReply>;
  }

  /**
   * One request whose body, on a 2xx, is handed over as a stream once the headers are in.
   * Any other status is read whole as text (error bodies are small), so its socket is reused.
   */
  stream(call: HttpCall): Promise<StreamReply | TextReply> {
    return this.#send(call, "stream");
  }

  /** Destroys every socket, idle or busy (requests in flight fail as unavailable). */
  close(): void {
    this.#agent.destroy();
  }

  #send(call: HttpCall, mode: "text" | "stream", resent = false): Promise<TextReply | StreamReply> {
    const { signal, path } = call;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = call.timeoutMs === undefined ? this.#timeoutMs : call.timeoutMs;
    return new Promise((resolve, reject) => {
      let settled = false;
      let res: IncomingMessage | null = null;
      let timer: NodeJS.Timeout | undefined;
      const unavailable = (why: string, cause?: unknown) =>
        new ComfyError("comfyui_unavailable", `ComfyUI at ${this.baseUrl} is unreachable (${path}): ${why}`, cause === undefined ? {} : { cause });
      const detach = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      // Any failure leaves the socket mid-exchange: it is destroyed, never returned to the pool.
      const fail = (err: unknown) => {
        detach();
        req.destroy();
        res?.destroy(settled ? (err as Error) : undefined);
        if (call.body instanceof Readable) call.body.destroy();
        if (settled) return;
        settled = true;
        reject(err);
      };
      const onAbort = () => fail(signal?.reason);

      const req = this.#request(
        { agent: this.#agent, hostname: this.#hostname, port: this.#port, method: call.method ?? "GET", path: this.#prefix + path, headers: headersFor(call) },
        (incoming) => {
          res = incoming;
          const status = incoming.statusCode ?? 0;
          if (mode === "stream" && status >= 200 && status < 300) {
            clearTimeout(timer);
            settled = true;
            // The caller signal still ends the body; the listener goes with the body.
            if (signal) incoming.once("close", detach);
            resolve({ status, headers: incoming.headers, body: incoming });
            return;
          }
          const chunks: Buffer[] = [];
          incoming.on("data", (c: Buffer) => chunks.push(c));
          incoming.on("error", (e: NodeJS.ErrnoException) => fail(unavailable(e.code ?? e.message, e)));
          incoming.on("end", () => {
            detach();
            settled = true;
            resolve({ status, headers: incoming.headers, text: Buffer.concat(chunks).toString("utf8") });
          });
          incoming.on("close", () => {
            if (!settled) fail(unavailable("connection closed mid-body"));
          });
        },
      );
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (settled) return;
        if (signal?.aborted) return fail(signal.reason);
        const replayable = (call.idempotent ?? (call.method ?? "GET") === "GET") && !(call.body instanceof Readable);
        if (!resent && replayable && res === null && req.reusedSocket && STALE_SOCKET_CODES.has(e.code ?? "")) {
          detach();
          settled = true;
          resolve(this.#send(call, mode, true));
          return;
        }
        fail(unavailable(e.code ?? e.message, e));
      });
      if (timeoutMs !== null) timer = setTimeout(() => fail(unavailable(`timed out after ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });

      const body = call.body;
      if (body instanceof Readable) {
        body.on("error", (e) => fail(unavailable(`request body failed: ${e.message}`, e)));
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }
}

function headersFor(call: HttpCall): OutgoingHttpHeaders {
  const body = call.body;
  if (body === undefined || body instanceof Readable) return call.headers ?? {};
  return { ...call.headers, "content-length": Buffer.byteLength(body) };
}

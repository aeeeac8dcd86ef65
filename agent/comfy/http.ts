import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { HandBack, originDispatcher, type ProxyEnv } from "../http-dispatcher.ts";
import { readText } from "../read-body.ts";
import { ComfyError } from "./errors.ts";

export type HttpCall = {
  method?: "GET" | "POST";
  /** Path and query, appended to the base URL. */
  path: string;
  /** A stream body must come with its `content-length` header; it is sent once, never replayed. */
  body?: string | Buffer | Readable;
  headers?: Record<string, string>;
  /**
   * Whether sending it twice is harmless: such a request is resent once when its connection
   * closes before any reply (a kept-alive socket the server closed as we wrote). @defaultValue true for GET, false otherwise
   */
  idempotent?: boolean;
  /** Aborting rejects with (and destroys any streamed body with) `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Limit in ms, undici's own per request: until the headers arrive (the request sent), then for
   * `text`, between two chunks of the body; a `stream` body has none. null: none. Defaults to the
   * client's.
   */
  timeoutMs?: number | null;
};

export type TextReply = { status: number; headers: IncomingHttpHeaders; text: string };
/** The caller owns `body`: it must read it to the end or destroy it, or its connection stays taken. */
export type StreamReply = { status: number; headers: IncomingHttpHeaders; body: Readable };

export type ComfyHttpOptions = {
  /** @defaultValue 30000 */
  timeoutMs?: number;
  /**
   * Connections open at once; further requests wait for a free one. Unlimited by default: a
   * `/view` body holds its connection until its upload ends, and a control call (`/prompt`,
   * `/interrupt`) must never wait behind those (the agent's own jobs bound the count).
   * @defaultValue Infinity
   */
  maxSockets?: number;
  /** Where HTTP(S)_PROXY and NO_PROXY are read (see originDispatcher). @defaultValue process.env */
  env?: ProxyEnv;
};

/** How a request fails when its connection closed before any reply: safe to resend once if idempotent. */
const CLOSED_BEFORE_REPLY = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

/**
 * ComfyUI's HTTP transport: undici's `request` over one keep-alive `Pool` per client (or the
 * proxy from the environment, see originDispatcher), with undici's own timeouts. Connection failures
 * and timeouts reject with `ComfyError("comfyui_unavailable")`; an aborted caller signal rejects
 * with its reason. Idle connections never hold the process open; `close()` destroys them all.
 *
 * @example
 * const comfyHttp = new ComfyHttp("http://127.0.0.1:8188");
 * const { status, text } = await comfyHttp.text({ path: "/queue" });
 * comfyHttp.close();
 */
export class ComfyHttp {
  readonly baseUrl: string;
  readonly #dispatcher: Dispatcher;
  readonly #handBack = new HandBack();
  readonly #origin: string;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: ComfyHttpOptions = {}) {
    const url = new URL(baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`ComfyUI URL must be http(s): ${baseUrl}`);
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const connections = opts.maxSockets === undefined || opts.maxSockets === Infinity ? null : opts.maxSockets;
    this.#dispatcher = originDispatcher(url.origin, { connections }, opts.env);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/+$/, "");
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** One request whose whole body is read as UTF-8 text. */
  text(call: HttpCall): Promise<TextReply> {
    return this.#send(call, "text") as Promise<TextReply>;
  }

  /**
   * One request whose body, on a 2xx, is handed over as a stream once the headers are in.
   * Any other status is read whole as text (error bodies are small), so its connection is reused.
   */
  stream(call: HttpCall): Promise<StreamReply | TextReply> {
    return this.#send(call, "stream");
  }

  /** Destroys every connection, idle or busy (requests in flight fail as unavailable). */
  close(): void {
    this.#dispatcher.destroy().catch(() => undefined);
  }

  async #send(call: HttpCall, mode: "text" | "stream", resent = false): Promise<TextReply | StreamReply> {
    const { signal, path } = call;
    if (signal?.aborted) throw signal.reason;
    const handBack = this.#handBack.ready();
    if (handBack) await handBack;
    if (signal?.aborted) throw signal.reason;
    const timeoutMs = (call.timeoutMs === undefined ? this.#timeoutMs : call.timeoutMs) ?? 0;

    let res: Dispatcher.ResponseData;
    try {
      // undici's timers, not one of ours per request: it rejects (or destroys the body) with
      // a timeout error, or with the caller signal's reason.
      res = await this.#dispatcher.request({
        origin: this.#origin,
        path: this.#prefix + path,
        method: call.method ?? "GET",
        headers: headersFor(call),
        body: call.body ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: mode === "text" ? timeoutMs : 0,
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      // A stream body is sent once: whatever failed, it is done with.
      if (call.body instanceof Readable) call.body.destroy();
      if (signal?.aborted) throw signal.reason;
      const replayable = (call.idempotent ?? (call.method ?? "GET") === "GET") && !(call.body instanceof Readable);
      if (!resent && replayable && CLOSED_BEFORE_REPLY.has(errorCode(e))) return this.#send(call, mode, true);
      throw this.#unavailable(path, describe(e, timeoutMs), e);
    }

    const status = res.statusCode;
    const headers = nodeStyleHeaders(res.headers);
    if (mode === "stream" && status >= 200 && status < 300) {
      res.body.once("end", () => this.#handBack.ended());
      // undici's body errors when destroyed unread (node:http's did not): a consumer sees errors
      // through its own pipe or iterator; one that just drops the body must not crash the process.
      res.body.on("error", ignore);
      return { status, headers, body: res.body };
    }
    try {
      const text = await readText(res.body);
      this.#handBack.ended();
      return { status, headers, text };
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw this.#unavailable(path, `connection closed mid-body (${describe(e, timeoutMs)})`, e);
    }
  }

  #unavailable(path: string, why: string, cause?: unknown): ComfyError {
    return new ComfyError("comfyui_unavailable", `ComfyUI at ${this.baseUrl} is unreachable (${path}): ${why}`, cause === undefined ? {} : { cause });
  }
}

function ignore(): void {}

function headersFor(call: HttpCall): Record<string, string> {
  const body = call.body;
  if (body === undefined || body instanceof Readable) return call.headers ?? {};
  return { ...call.headers, "content-length": String(Buffer.byteLength(body)) };
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

const TIMEOUTS = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** A system error's code (ECONNREFUSED…); for undici's own errors, their message ("other side closed"…). */
function describe(e: unknown, timeoutMs: number): string {
  const code = errorCode(e);
  if (TIMEOUTS.has(code)) return `timed out after ${timeoutMs} ms`;
  if (code !== "" && !code.startsWith("UND_ERR")) return code;
  return (e instanceof Error && e.message) || code || String(e);
}

/** Repeated headers joined with ", " (set-cookie kept a list), as node:http hands them over. */
function nodeStyleHeaders(headers: Record<string, string | string[] | undefined>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) && name !== "set-cookie" ? value.join(", ") : value;
  return out;
}

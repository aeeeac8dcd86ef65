import type { Readable } from "node:stream";
import { Agent, EnvHttpProxyAgent, interceptors, type Dispatcher } from "undici";
import { DownloadError } from "./errors.ts";

/**
 * Where to really connect for a host: `{ "huggingface.co": "http://127.0.0.1:8080" }`.
 * The request still carries the original `Host`, so a mirror (or a test server) sees which
 * host was meant; redirects and token rules keep working on the original names.
 */
export type HostMap = Readonly<Record<string, string>>;

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export type HttpResponse = {
  status: number;
  headers: ResponseHeaders;
  /** The caller reads it to the end, or destroys it. */
  body: Readable;
};

/** What a redirect chain asks of its caller at each hop (the first request is a hop too). */
export type HopRules = {
  /** The headers to send to `url`: e.g. a token only where it may go. */
  headersFor(url: URL): Record<string, string>;
  /** Sees every answer, redirects included, before a redirect is followed; what it throws ends the GET. */
  answered(url: URL, status: number, headers: ResponseHeaders): void;
};

export type GetInit = { hops: HopRules; maxRedirects: number; signal?: AbortSignal };

/**
 * One GET that follows redirects (up to `maxRedirects`; then the last 3xx is the answer),
 * asking `hops` at each one: the seam tests and mirrors plug into.
 */
export type Transport = (url: URL, init: GetInit) => Promise<HttpResponse & { finalUrl: URL }>;

export type UndiciTransportOptions = {
  hostMap?: HostMap;
  /** Give up on a connection that sends nothing for this long. @defaultValue 60_000 */
  idleTimeoutMs?: number;
  /** Where HTTP(S)_PROXY and NO_PROXY are read. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
};

const USER_AGENT = "comfy-edge-models/1";
/** Never through a proxy: this machine's own servers (mirrors, tests) are not the proxy's to reach. */
const LOOPBACK = "localhost,127.0.0.1,[::1]";

/**
 * A `Transport` over undici's `request`: one keep-alive pool per origin (an `Agent`), behind
 * `EnvHttpProxyAgent` when the env names a proxy (`HTTP_PROXY`/`HTTPS_PROXY`, `NO_PROXY` honoured,
 * loopback always direct). Redirects are followed by undici's redirect interceptor; below it, an
 * interceptor applies the caller's hop rules to every hop, and the host map below that. No
 * decompression. `close()` ends its connections (call it once nothing is in flight).
 */
export function undiciTransport(options: UndiciTransportOptions = {}): Transport & { close(): Promise<void> } {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const hostMap = options.hostMap ?? {};
  const env = options.env ?? process.env;
  const agentOptions = { keepAliveTimeout: 4_000, headersTimeout: idleTimeoutMs, bodyTimeout: idleTimeoutMs, connect: { timeout: idleTimeoutMs } };
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? "";
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? "";
  const noProxy = [env.no_proxy ?? env.NO_PROXY ?? "", LOOPBACK].filter(Boolean).join(",");
  // Every proxy value passed explicitly ("" for none): the agent then never reads process.env itself.
  const base: Dispatcher =
    httpProxy === "" && httpsProxy === "" ? new Agent(agentOptions) : new EnvHttpProxyAgent({ ...agentOptions, httpProxy, httpsProxy, noProxy });

  const get: Transport = async (url, init) => {
    const hop = { url };
    const dispatcher = base.compose(mapHosts(hostMap), applyHopRules(init.hops, hop), interceptors.redirect({ maxRedirections: init.maxRedirects }));
    try {
      const res = await dispatcher.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: "GET", ...(init.signal ? { signal: init.signal } : {}) });
      // undici's body errors when destroyed unread: the download's pipeline sees its errors through
      // its own listener; a body just dropped (a 4xx, a file already in place) must not crash the run.
      res.body.on("error", ignore);
      return { status: res.statusCode, headers: res.headers, body: res.body, finalUrl: hop.url };
    } catch (error) {
      if ((error as { code?: unknown }).code === "UND_ERR_HEADERS_TIMEOUT") {
        const silence = idleTimeoutMs < 1_000 ? `${idleTimeoutMs} ms` : `${Math.round(idleTimeoutMs / 1000)}s`;
        throw new DownloadError("network", `no data from ${hop.url.host} for ${silence}`, true);
      }
      throw error;
    }
  };
  // Called once every download is over: nothing is in flight, so idle connections just go.
  return Object.assign(get, { close: () => base.destroy() });
}

function ignore(): void {}

/** Sends each hop with the headers its rules give and shows them each answer; `hop.url` follows the chain. */
function applyHopRules(rules: HopRules, hop: { url: URL }): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const url = new URL(opts.path, opts.origin);
    hop.url = url;
    // The rules' headers replace whatever the redirect handler carried over from the last hop.
    const headers = { "user-agent": USER_AGENT, ...rules.headersFor(url) };
    return dispatch({ ...opts, headers }, new CheckedHop(handler, url, rules));
  };
}

class CheckedHop implements Dispatcher.DispatchHandler {
  readonly #next: Dispatcher.DispatchHandler;
  readonly #url: URL;
  readonly #rules: HopRules;

  constructor(next: Dispatcher.DispatchHandler, url: URL, rules: HopRules) {
    this.#next = next;
    this.#url = url;
    this.#rules = rules;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#next.onRequestStart?.(controller, context);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    try {
      this.#rules.answered(this.#url, statusCode, headers);
    } catch (error) {
      controller.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#next.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: ResponseHeaders): void {
    this.#next.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.#next.onResponseError?.(controller, error);
  }
}

/** Connects a mapped host's requests to its stand-in, keeping the original `Host`. */
function mapHosts(hostMap: HostMap): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const logical = new URL(String(opts.origin));
    const mapped = hostMap[logical.host] ?? hostMap[logical.hostname];
    if (mapped === undefined) return dispatch(opts, handler);
    // Below applyHopRules, which always sends its headers as a plain object.
    const headers = { ...(opts.headers as Record<string, string>), host: logical.host };
    return dispatch({ ...opts, origin: new URL(mapped).origin, headers }, handler);
  };
}

import { isIP } from "node:net";
import { setFlagsFromString } from "node:v8";
import type { Dispatcher as UndiciDispatcher, Pool as UndiciPool } from "undici";
import api from "undici/lib/api/index.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import EnvHttpProxyAgent from "undici/lib/dispatcher/env-http-proxy-agent.js";
import Pool from "undici/lib/dispatcher/pool.js";

// By path, not `from "undici"`: its index also loads fetch, WebSocket, caches and mocks. Measured
// in an esbuild bundle like the agent's: +10 MiB of RSS for the index, +3 MiB for these modules.
// What the index does on load, done here: mix the request API (`request`, `stream`, `connect`…)
// into every dispatcher (the proxy agent itself calls `connect` on its own).
Object.assign(Dispatcher.prototype, api);

// undici parses HTTP/1 with llhttp compiled to WebAssembly, when its first connection opens. V8's
// optimizing tier-up of that module costs more peak memory than the rest of undici: measured on
// a loop of agent-like requests (prompt, history, /view piped into a PUT), peak RSS 77 → 63 MiB
// on Node 22 and 93 → 64 MiB on Node 20 with the baseline compiler (Liftoff) only, at no more CPU
// per request. It applies to any WebAssembly the process compiles later; the agent has no other.
setFlagsFromString("--liftoff-only");
// Likewise for the calls between llhttp and undici's callbacks: after 1,000 calls V8 (12+, Node 22)
// compiles a dedicated wrapper per signature with TurboFan, which no JavaScript here uses
// (`--no-opt`), so its first use maps 2.2 MiB of the node binary's code (measured on the loop
// above). The generic wrapper stays; Node 20's V8 has no such tier (nor the flag).
if (v8Major(process.versions.v8) >= 12) setFlagsFromString("--wasm-wrapper-tiering-budget=2147483647");

function v8Major(version: string): number {
  return Number.parseInt(version, 10);
}

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** Options of the dispatcher for one origin (undici's Pool options). */
export type OriginOptions = Pick<UndiciPool.Options, "connections">;

/**
 * Idle keep-alive sockets close after this, before the server would close them under us
 * (ComfyUI's aiohttp: 75 s). No inactivity limits of undici's own: every caller sets its
 * limit per request, and a streamed body may rightly wait on its consumer.
 */
const POOL_DEFAULTS = { keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 } as const;

/**
 * The dispatcher for one origin: one keep-alive undici `Pool`, or, when the environment names a
 * proxy (`HTTP_PROXY`/`HTTPS_PROXY`, lower case first, as undici reads them) and the origin is not
 * this machine's loopback, an `EnvHttpProxyAgent` built from `env`: it tunnels through the proxy
 * unless `NO_PROXY` exempts the host (then it uses its own pool for the origin). Loopback never
 * goes through a proxy: a ComfyUI on 127.0.0.1 is this rig's, which no proxy can reach.
 * Idle sockets are unref'd (they never hold the process open).
 */
export function originDispatcher(origin: string, options: OriginOptions = {}, env: ProxyEnv = process.env): UndiciDispatcher {
  const url = new URL(origin);
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? "";
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? "";
  const merged = { ...POOL_DEFAULTS, ...options };
  if (isLoopback(url.hostname) || (httpProxy === "" && httpsProxy === "")) return new Pool(url.origin, merged);
  // Every value passed explicitly ("" for none), so the agent reads `env`, never process.env behind it.
  return new EnvHttpProxyAgent({ ...merged, httpProxy, httpsProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? "" });
}

/** `localhost` (and its subdomains), 127.0.0.0/8, ::1 and IPv4-mapped 127.x, as a URL's (normalized) hostname. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host.startsWith("::ffff:7f");
}

/**
 * undici hands a kept-alive connection back to its pool one event-loop turn after the response
 * ends (its HTTP/1 client resumes in a `setImmediate`), so a request sent right on the end of
 * another finds no free connection and opens a second one. A dispatcher's callers report each
 * response end here and await `ready()` before a request: it waits that one turn, and only while
 * a response ended this turn.
 */
export class HandBack {
  #ending = 0;

  /** A response body ended (read to its end): its connection is back after this turn. */
  ended(): void {
    this.#ending += 1;
    setImmediate(() => {
      this.#ending -= 1;
    });
  }

  /** null when no connection is on its way back; else resolves once it is. */
  ready(): Promise<void> | null {
    return this.#ending > 0 ? new Promise((resolve) => setImmediate(resolve)) : null;
  }
}

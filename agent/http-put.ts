import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { HandBack, originDispatcher, type ProxyEnv } from "./http-dispatcher.ts";
import { readText } from "./read-body.ts";

export type PutOptions = {
  /** Aborting rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Limit on a stall, undici's own: sending the body, awaiting the reply or reading it, nothing
   * moving for this long rejects with an error whose code is ETIMEDOUT.
   */
  timeoutMs: number;
  /** Where HTTP(S)_PROXY and NO_PROXY are read (see originDispatcher). @defaultValue process.env */
  env?: ProxyEnv;
};

type Route = { dispatcher: Dispatcher; handBack: HandBack };

// One keep-alive dispatcher per upload origin (the edge), kept for the process's life: idle
// connections are unref'd and closed after 4 s. No cap on connections: a capped pool would
// count the wait for one against an upload's timeout, and the agent's held jobs already bound
// how many uploads run at once. Keyed by the env too, so a test's proxy settings get their own.
const routes = new WeakMap<ProxyEnv, Map<string, Route>>();

/** Only the small JSON reply matters; a huge error page is read off but not kept. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * One streaming PUT with an exact Content-Length, with undici's `request` over the upload
 * origin's keep-alive pool rather than fetch: no web streams between a `/view` body and this
 * request, and no dependence on the process's global dispatcher (which a host process may replace).
 */
export async function putStream(
  url: string,
  body: Readable | Uint8Array,
  headers: Record<string, string>,
  opts: PutOptions,
): Promise<{ status: number; text: string }> {
  const { signal } = opts;
  if (signal?.aborted) throw signal.reason;
  const target = new URL(url);
  const route = routeTo(target.origin, opts.env ?? process.env);
  const handBack = route.handBack.ready();
  if (handBack) await handBack;
  if (signal?.aborted) throw signal.reason;

  try {
    const res = await route.dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: "PUT",
      headers,
      body,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      ...(signal ? { signal } : {}),
    });
    const text = await readText(res.body, MAX_REPLY_BYTES);
    route.handBack.ended();
    return { status: res.statusCode, text };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    const code = (e as { code?: unknown } | null)?.code;
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
      throw Object.assign(new Error(`PUT timed out after ${opts.timeoutMs} ms`, { cause: e }), { code: "ETIMEDOUT" });
    }
    throw e;
  }
}

function routeTo(origin: string, env: ProxyEnv): Route {
  let byOrigin = routes.get(env);
  if (!byOrigin) routes.set(env, (byOrigin = new Map()));
  let route = byOrigin.get(origin);
  if (!route) byOrigin.set(origin, (route = { dispatcher: originDispatcher(origin, {}, env), handBack: new HandBack() }));
  return route;
}


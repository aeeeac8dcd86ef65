import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";

/**
 * For HTML pages: scripts only from this origin (the playground keeps API keys in
 * localStorage, so no third-party or inline script may run beside them), styles from this
 * origin plus inline ones (the API reference UI sets style attributes), never framed.
 */
export const HTML_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function withHeaders(res: Response): Response {
  const html = (res.headers.get("content-type") ?? "").toLowerCase().startsWith("text/html");
  const set = (h: Headers) => {
    h.set("x-content-type-options", "nosniff");
    if (html) {
      h.set("content-security-policy", HTML_CSP);
      h.set("referrer-policy", "no-referrer");
    }
  };
  try {
    set(res.headers);
    return res;
  } catch {
    // Headers of a response fetched from elsewhere (a Durable Object's answer) are immutable.
    const copy = new Response(res.body, res);
    set(copy.headers);
    return copy;
  }
}

/** Every response the Worker builds carries nosniff; HTML pages also a CSP and no referrer. */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  // A 101 carries a WebSocket, not a body a browser could sniff; it cannot be rebuilt.
  if (c.res.status === 101) return;
  const res = withHeaders(c.res);
  if (res !== c.res) c.res = res;
};

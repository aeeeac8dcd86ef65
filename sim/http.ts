import type { IncomingMessage, ServerResponse } from "node:http";

/** A request as route handlers see it; `params` come from `{name}` segments of the route. */
export interface SimRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly params: Readonly<Record<string, string>>;
  body(): Promise<Buffer>;
}
export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Runs once the answer is written (e.g. a crash that must not eat its own reply). */
  readonly after?: () => void;
}
export type Handler = (req: SimRequest) => Reply | Promise<Reply>;

/** aiohttp's answer to an exception inside a handler (what a malformed JSON body gets). */
export const INTERNAL_ERROR: Reply = {
  status: 500,
  headers: { "Content-Type": "text/plain; charset=utf-8" },
  body: "500 Internal Server Error\n\nServer got itself in trouble",
};
const MAX_BODY = 100 * 1024 * 1024;

/** A handler's failure that has a definite HTTP answer (everything else becomes a 500). */
export class HttpFailure extends Error {
  override readonly name = "HttpFailure";
  readonly reply: Reply;

  constructor(reply: Reply) {
    super(`HTTP ${reply.status}`);
    this.reply = reply;
  }
}

export function json(data: unknown, status = 200): Reply {
  return { status, headers: { "Content-Type": "application/json; charset=utf-8" }, body: JSON.stringify(data) };
}

export function text(status: number, body: string): Reply {
  return { status, headers: { "Content-Type": "text/plain; charset=utf-8" }, body };
}

/** aiohttp's bare `web.Response(status=...)`: no body. */
export function empty(status = 200): Reply {
  return { status, headers: { "Content-Type": "application/octet-stream" }, body: "" };
}

/** `await request.json()`: a body that is not JSON raises, and the client gets a 500. */
export async function readJson(req: SimRequest): Promise<unknown> {
  return JSON.parse((await req.body()).toString("utf8"));
}

export function readBody(raw: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(raw.headers["content-length"] ?? 0);
    if (declared > MAX_BODY) {
      raw.resume();
      reject(new HttpFailure(text(413, `Maximum request body size ${MAX_BODY} exceeded, actual body size ${declared}`)));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    raw.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) parts.push(c);
    });
    raw.on("end", () => {
      if (size > MAX_BODY) reject(new HttpFailure(text(413, `Maximum request body size ${MAX_BODY} exceeded, actual body size ${size}`)));
      else resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
    });
    raw.on("error", reject);
  });
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: Handler;
}

/** Method + path routing with `{param}` segments (one path segment each, URL-decoded). */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler for a request, "method" when only the method is wrong, or null for no route. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | "method" | null {
    let pathMatched = false;
    const wanted = method === "HEAD" ? "GET" : method;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== wanted) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] as string);
      });
      return { handler: route.handler, params };
    }
    return pathMatched ? "method" : null;
  }
}

/**
 * Writes a handler's answer as aiohttp does: its `web.Response` and `FileResponse` hold the whole
 * body, so every answer carries `Content-Length` (0 when empty), never chunked encoding.
 */
export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const body = reply.body ?? "";
  res.writeHead(reply.status, { Server: "Python/3.12 aiohttp/3.12.15", ...reply.headers, "Content-Length": String(Buffer.byteLength(body)) });
  res.end(body, () => reply.after?.());
}

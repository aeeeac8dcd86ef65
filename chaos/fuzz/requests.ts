import { randomBytes } from "node:crypto";
import fc from "fast-check";
import type { EdgeKeys } from "../../scripts/local/edge.ts";
import type { RawRequest, RawResponse } from "./http.ts";
import { anyBody, contentType, extraHeaders, pathSegment, queryFor } from "./arbitraries.ts";

/** What the fuzzer needs to know of a route (a RouteDef from edge/app.ts fits). */
export interface RouteShape {
  method: string;
  path: string;
  query?: Record<string, string>;
  websocket?: boolean;
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

function authHeader(keys: EdgeKeys): fc.Arbitrary<string | undefined> {
  return fc.constantFrom(
    undefined, `Bearer ${keys.client}`, `Bearer ${keys.admin}`, `Bearer ${keys.agent}`, "Bearer not-a-key-at-all", `bearer ${keys.client}`,
    `Basic ${Buffer.from("a:b").toString("base64")}`, "Bearer", `Bearer ${keys.client} extra`, `Bearer ${"k".repeat(5000)}`,
  );
}

/** Fills `:id` and `*` in a route path: with a real task id, an id-shaped value, or odd segments. */
function pathFor(template: string, taskIds: readonly string[]): fc.Arbitrary<string> {
  const id = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...taskIds) }, { weight: 3, arbitrary: pathSegment });
  const rest = fc.oneof(
    fc.tuple(fc.constantFrom(...taskIds), fc.stringMatching(/^lse_[0-9a-z]{16}$/), fc.integer({ min: 0, max: 99 })).map(([t, l, i]) => `out/${t}/${l}/${i}`),
    fc.array(pathSegment, { minLength: 1, maxLength: 5 }).map((s) => s.join("/")),
  );
  return fc.tuple(id, rest).map(([i, r]) => template.replace(":id", i).replace("*", r));
}

/** Random requests aimed at one route: its method most of the time, any body, content type, auth and headers. */
export function requestFor(route: RouteShape, keys: EdgeKeys, taskIds: readonly string[]): fc.Arbitrary<RawRequest> {
  return fc
    .record({
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      path: pathFor(route.path, taskIds),
      query: queryFor(Object.keys(route.query ?? {})),
      auth: authHeader(keys),
      contentType,
      headers: extraHeaders,
      body: anyBody,
      upgrade: route.websocket ? fc.boolean() : fc.constant(false),
    })
    .map((r) => {
      const headers: Record<string, string> = { ...r.headers };
      if (r.auth !== undefined) headers.authorization = r.auth;
      if (r.contentType !== undefined) headers["content-type"] = r.contentType;
      if (r.upgrade) {
        Object.assign(headers, { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") });
      }
      // An upgrade request carries no body: bytes after it would be read as WebSocket frames.
      const body = r.upgrade ? undefined : r.body;
      return { method: r.method, path: r.path + r.query, headers, ...(body !== undefined ? { body } : {}) };
    });
}

/** A short, printable account of a request and its answer, for failure messages. */
export function describeCase(req: RawRequest, res: RawResponse | null): string {
  const body = req.body === undefined ? "(none)" : typeof req.body === "string" ? JSON.stringify(req.body.slice(0, 300)) : `bytes[${req.body.length}]`;
  const headers = JSON.stringify(req.headers, (_k, v: unknown) => (typeof v === "string" && v.length > 100 ? `${v.slice(0, 100)}…(${v.length})` : v));
  const answer = res ? `${res.status} ${res.text.slice(0, 300)}` : "no answer";
  return `${req.method} ${req.path.slice(0, 300)}\nheaders ${headers}\nbody ${body}\n→ ${answer}`;
}

/** The error code of a JSON error body, or null when the body is not one. */
export function errorCodeOf(res: RawResponse): string | null {
  try {
    const code = (JSON.parse(res.text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

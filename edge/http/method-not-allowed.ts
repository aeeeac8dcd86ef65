import type { NotFoundHandler } from "hono";
import { ApiError } from "../../shared/errors.ts";
import type { AppEnv } from "./context.ts";
import { errorResponse, notFound } from "./errors.ts";
import type { RouteDef } from "./route.ts";

/** A route's Hono path (`/tasks/:id`, `/files/*`) as a whole-path pattern. */
function pathPattern(path: string): RegExp {
  const parts = path.split("/").map((part) => (part === "*" ? ".*" : part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${parts.join("/")}$`);
}

/** The methods the routes accept at a path (GET brings HEAD, which Hono answers from it), in a stable order. */
export function allowedMethods(routes: RouteDef[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (!pathPattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return ["GET", "HEAD", "POST", "PUT", "DELETE"].filter((m) => methods.has(m));
}

/**
 * What the edge answers when no route takes the request: 405 with `Allow` when the path
 * exists under other methods (`GET /generate` → `Allow: POST`), else the plain 404.
 */
export function notFoundOrMethodNotAllowed(routes: RouteDef[]): NotFoundHandler<AppEnv> {
  return (c) => {
    const allowed = allowedMethods(routes, c.req.path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) return notFound(c);
    const allow = allowed.join(", ");
    return errorResponse(
      new ApiError("method_not_allowed", `${c.req.method} ${c.req.path} is not supported; this route accepts ${allow}. See /docs for the API.`, undefined, { Allow: allow }),
    );
  };
}

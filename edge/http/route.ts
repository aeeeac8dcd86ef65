import type { Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { ApiError } from "../../shared/errors.ts";
import { authenticate, type Role } from "../auth/keys.ts";
import { configOf } from "../env.ts";
import type { AppContext, AppEnv } from "./context.ts";

/**
 * Who may call a route. `public`: anyone; `signed`: anyone holding a valid signed link (the
 * handler checks the signature); a role list: a Bearer key with one of those roles (admin
 * may always call).
 */
export type RouteAuth = "public" | "signed" | readonly Role[];

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Hono path syntax (`/tasks/:id`); the OpenAPI document derives `{id}` from it. */
  path: string;
  auth: RouteAuth;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: Record<string, string>;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Accepts WebSocket upgrades (documented, and the auth matrix knows to expect 426 without one). */
  websocket?: boolean;
  handler: (c: AppContext) => Response | Promise<Response>;
}

export const defineRoutes = (routes: RouteDef[]): RouteDef[] => routes;

/** The key from an `Authorization: Bearer <key>` header, or null. */
export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1] ?? null;
}

function requireRole(roles: readonly Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearer(c.req.header("authorization"));
    if (!token) throw new ApiError("unauthorized", 'Send your API key as "Authorization: Bearer <key>".', undefined, { "WWW-Authenticate": "Bearer" });
    const principal = await authenticate(c.env.API_KEYS, token);
    if (!principal) throw new ApiError("unauthorized", "That API key is not valid.", undefined, { "WWW-Authenticate": "Bearer" });
    if (principal.role !== "admin" && !roles.includes(principal.role)) {
      throw new ApiError("forbidden", `This route needs a key with the role ${roles.join(" or ")}; yours is ${principal.role}.`);
    }
    c.set("principal", principal);
    await next();
  };
}

/** Registers each route with the auth its definition declares: no route can skip auth by accident. */
export function mountRoutes(app: Hono<AppEnv>, routes: RouteDef[]): void {
  for (const r of routes) {
    const handlers: MiddlewareHandler<AppEnv>[] = [
      async (c, next) => {
        c.set("config", configOf(c.env));
        await next();
      },
    ];
    if (Array.isArray(r.auth)) handlers.push(requireRole(r.auth));
    app.on(r.method, [r.path], ...handlers, (c) => r.handler(c));
  }
}

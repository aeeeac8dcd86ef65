import { Hono } from "hono";
import type { AppEnv } from "./http/context.ts";
import { notFound, onError } from "./http/errors.ts";
import { docsPage, openApiDocument } from "./http/openapi.ts";
import { defineRoutes, mountRoutes, type RouteDef } from "./http/route.ts";
import { agentRoutes } from "./routes/agent.ts";
import { catalogRoutes } from "./routes/catalog.ts";
import { fileRoutes } from "./routes/files.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { opsRoutes, VERSION } from "./routes/ops.ts";
import { playgroundRoutes } from "./routes/playground.ts";
import { uploadRoutes } from "./routes/uploads.ts";

const apiRoutes: RouteDef[] = [...opsRoutes, ...catalogRoutes, ...jobRoutes, ...uploadRoutes, ...fileRoutes, ...agentRoutes, ...playgroundRoutes];

const docRoutes = defineRoutes([
  {
    method: "GET", path: "/openapi.json", auth: "public", tag: "ops", summary: "This API as an OpenAPI 3.1 document.",
    responses: { 200: { description: "OpenAPI document", contentType: "application/json" } },
    handler: (c) => c.json(openApiDocument(ROUTES, c.get("config").PUBLIC_URL, VERSION)),
  },
  {
    method: "GET", path: "/docs", auth: "public", tag: "ops", summary: "Interactive API reference.",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handler: (c) => c.html(docsPage()),
  },
]);

/** Every route the edge serves; the auth matrix test and the OpenAPI document both read this table. */
export const ROUTES: RouteDef[] = [...apiRoutes, ...docRoutes];

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  mountRoutes(app, ROUTES);
  return app;
}

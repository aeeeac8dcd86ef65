import { Hono } from "hono";
import type { AppEnv } from "./http/context.ts";
import { onError } from "./http/errors.ts";
import { notFoundOrMethodNotAllowed } from "./http/method-not-allowed.ts";
import { openApiDocument } from "./http/openapi.ts";
import { defineRoutes, mountRoutes, type RouteDef } from "./http/route.ts";
import { securityHeaders } from "./http/security-headers.ts";
import { agentRoutes } from "./routes/agent.ts";
import { catalogRoutes } from "./routes/catalog.ts";
import { fileRoutes } from "./routes/files.ts";
import { batchRoutes } from "./routes/batches.ts";
import { jobListRoutes } from "./routes/job-list.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { opsRoutes, VERSION } from "./routes/ops.ts";
import { pageRoutes } from "./routes/pages.ts";
import { uploadRoutes } from "./routes/uploads.ts";

const apiRoutes: RouteDef[] = [...opsRoutes, ...catalogRoutes, ...jobRoutes, ...jobListRoutes, ...batchRoutes, ...uploadRoutes, ...fileRoutes, ...agentRoutes];

const docRoutes = defineRoutes([
  {
    method: "GET", path: "/openapi.json", auth: "public", tag: "ops", summary: "This API as an OpenAPI 3.1 document.",
    responses: { 200: { description: "OpenAPI document", contentType: "application/json" } },
    handler: (c) => c.json(openApiDocument(ROUTES, c.get("config").PUBLIC_URL, VERSION)),
  },
]);

/** Every route the edge serves; the auth matrix test and the OpenAPI document both read this table. */
export const ROUTES: RouteDef[] = [...apiRoutes, ...docRoutes, ...pageRoutes];

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound(notFoundOrMethodNotAllowed(ROUTES));
  app.use("*", securityHeaders);
  mountRoutes(app, ROUTES);
  return app;
}

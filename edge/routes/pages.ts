import { ApiError } from "../../shared/errors.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";

/**
 * Answers with one file of the static assets (built from web/ by scripts/build-web.ts). The
 * Worker runs before the assets (wrangler.toml: run_worker_first), so pages and scripts get the
 * same response headers as every other route; the request's headers pass on for ETag revalidation.
 */
async function asset(c: AppContext, path: string): Promise<Response> {
  const res = await c.env.ASSETS.fetch(new Request(new URL(path, c.req.url), { headers: c.req.raw.headers }));
  if (res.status === 404) throw new ApiError("not_found", `No file ${c.req.path}. The playground is at / and the API reference at /docs.`);
  // A fetched response's headers are immutable; a copy lets middleware add its own.
  return new Response(res.body, res);
}

export const pageRoutes = defineRoutes([
  {
    method: "GET", path: "/", auth: "public", tag: "ops", summary: "The playground: pick a workflow, fill its form, watch progress, see the image.",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    // "/" and "/docs" name index.html and docs.html under the assets' default HTML handling.
    handler: (c) => asset(c, "/"),
  },
  {
    method: "GET", path: "/docs", auth: "public", tag: "ops", summary: "Interactive API reference (Swagger UI, served from this origin).",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handler: (c) => asset(c, "/docs"),
  },
  {
    method: "GET", path: "/static/*", auth: "public", tag: "ops", summary: "The pages' scripts and stylesheets.",
    responses: { 200: { description: "A script, stylesheet or licence file" }, 404: { description: "No such file" } },
    handler: (c) => asset(c, c.req.path),
  },
]);

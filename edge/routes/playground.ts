import { defineRoutes } from "../http/route.ts";
import { PLAYGROUND_HTML } from "../playground/page.ts";

export const playgroundRoutes = defineRoutes([
  {
    method: "GET", path: "/", auth: "public", tag: "ops", summary: "The playground: pick a workflow, fill its form, watch progress, see the image.",
    responses: { 200: { description: "HTML page", contentType: "text/html" } },
    handler: (c) => c.html(PLAYGROUND_HTML),
  },
]);

import { WorkerEntrypoint } from "cloudflare:workers";
import { createApp } from "./app.ts";
import type { Env } from "./env.ts";

export { JobQueue } from "./queue/JobQueue.ts";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<import("./env.ts").Env>;

/**
 * The same app for local runs only (scripts/local/edge.ts points Miniflare's direct socket here).
 * With static assets, Miniflare puts its assets router and an RPC proxy in front of the default
 * export: two more Workers in the one local workerd process, ~0.4 ms of its CPU per request,
 * although the Worker answers every request first anyway (`run_worker_first`) and reaches the
 * pages through its ASSETS binding. On Cloudflare that router is the platform's, not the
 * Worker's CPU, and this named entrypoint is reachable only through a service binding (none).
 */
export class LocalDirect extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Response | Promise<Response> {
    return app.fetch(request, this.env, this.ctx);
  }
}

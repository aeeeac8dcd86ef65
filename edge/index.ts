import { createApp } from "./app.ts";

export { JobQueue } from "./queue/JobQueue.ts";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<import("./env.ts").Env>;

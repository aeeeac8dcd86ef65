import type { Env } from "../env.ts";

/**
 * The uploads registry is a JobQueue object of its own, under a name no pool can have (pool
 * names match /^[a-z0-9]/), so every key's uploads are counted in one place.
 */
export const UPLOADS_OBJECT = "~uploads";

export function uploadRegistry(env: Env): DurableObjectStub<import("../queue/JobQueue.ts").JobQueue> {
  return env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(UPLOADS_OBJECT));
}

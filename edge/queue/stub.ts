import type { Env } from "../env.ts";

/** Each pool is its own JobQueue object, addressed by name. */
export function queueFor(env: Env, pool: string): DurableObjectStub<import("./JobQueue.ts").JobQueue> {
  return env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(pool));
}

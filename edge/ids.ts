/** Random ids from crypto.getRandomValues, in a URL-safe lowercase alphabet. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export function randomId(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/** A task id carries its pool, so `GET /tasks/{id}` reaches the right queue: `tsk_<random>.<pool>`. */
export function newTaskId(pool: string): string {
  return `tsk_${randomId(20)}.${pool}`;
}

const TASK_ID = /^tsk_[0-9a-z]{20}\.([a-z0-9][a-z0-9_-]{0,62})$/;

export function poolOfTaskId(taskId: string): string | null {
  return TASK_ID.exec(taskId)?.[1] ?? null;
}

/** A batch id carries its pool too (one submit's jobs share one queue): `bat_<random>.<pool>`. */
export function newBatchId(pool: string): string {
  return `bat_${randomId(20)}.${pool}`;
}

const BATCH_ID = /^bat_[0-9a-z]{20}\.([a-z0-9][a-z0-9_-]{0,62})$/;

export function poolOfBatchId(batchId: string): string | null {
  return BATCH_ID.exec(batchId)?.[1] ?? null;
}

import type { JobState } from "./types.ts";
import { STATUS } from "./views.ts";

/** A position in the newest-first order of jobs: the last job of the previous page. */
export interface JobCursor {
  created_at: number;
  id: string;
}

export interface JobListFilter {
  /** null: every key's jobs (admin). */
  owner: string | null;
  states: JobState[] | null;
  workflow_id: string | null;
  before: JobCursor | null;
  limit: number;
}

/** The states each public status covers (views.ts maps state → status; a leased job reads PENDING). */
export const STATES_OF_STATUS: Record<string, JobState[]> = {};
for (const [state, status] of Object.entries(STATUS) as [JobState, string][]) (STATES_OF_STATUS[status] ??= []).push(state);

const CURSOR = /^([1-9][0-9]{0,15})\.(tsk_[0-9a-z]{20}\.[a-z0-9_-]{1,64})$/;

/** Opaque to clients, canonical to us: the job's creation time and id, base64url. */
export function encodeCursor(c: JobCursor): string {
  return btoa(`${c.created_at}.${c.id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The cursor, or null when it is not one this edge made. */
export function decodeCursor(text: string): JobCursor | null {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(text)) return null;
  let plain: string;
  try {
    plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const m = CURSOR.exec(plain);
  if (!m) return null;
  const cursor = { created_at: Number(m[1]), id: m[2]! };
  return encodeCursor(cursor) === text ? cursor : null;
}

/** The WHERE clause and its bindings for a filter (newest first: created_at, then id, descending). */
export function listWhere(f: JobListFilter): { where: string; binds: SqlStorageValue[] } {
  const parts: string[] = [];
  const binds: SqlStorageValue[] = [];
  if (f.owner !== null) {
    parts.push("owner = ?");
    binds.push(f.owner);
  }
  if (f.states) {
    parts.push(`state IN (${f.states.map(() => "?").join(", ")})`);
    binds.push(...f.states);
  }
  if (f.workflow_id !== null) {
    parts.push("workflow_id = ?");
    binds.push(f.workflow_id);
  }
  if (f.before) {
    parts.push("(created_at < ? OR (created_at = ? AND id < ?))");
    binds.push(f.before.created_at, f.before.created_at, f.before.id);
  }
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", binds };
}

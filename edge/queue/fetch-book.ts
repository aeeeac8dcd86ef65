/** fetching: asked, not answered; done / failed: answered (or timed out: failed); lost: its agent went away first. */
export type FetchState = "fetching" | "done" | "failed" | "lost";

/** One model fetch the edge asked an agent for (table model_fetches, migrations.ts). */
export interface FetchRecord {
  fetch_id: string;
  /** The model's key: canonical folder and file name (`unet/flux1-dev-Q4_K_S.gguf`), as `modelKey` makes it. */
  model: string;
  agent_id: string;
  state: FetchState;
  bytes: number;
  total: number | null;
  started_at: number;
  deadline: number;
  finished_at: number | null;
  error: string | null;
  /** A failure still counted towards giving up on the model (closed once its waiting jobs were failed). */
  open: number;
}

/** Finished fetches are kept this long (fetch_ms of the jobs they served, failures that count), then dropped. */
const KEEP_MS = 86_400_000;

/**
 * The model fetches in SQLite, so they survive hibernation. Each change names the state it moves
 * from (only a fetch in progress moves), so a late or repeated report changes nothing.
 */
export class FetchBook {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  private rows(where: string, ...binds: SqlStorageValue[]): FetchRecord[] {
    return this.sql.exec<FetchRecord & Record<string, SqlStorageValue>>(`SELECT * FROM model_fetches WHERE ${where}`, ...binds).toArray();
  }

  start(fetchId: string, model: string, agentId: string, total: number | null, now: number, deadline: number): void {
    this.sql.exec(
      `INSERT INTO model_fetches (fetch_id, model, agent_id, state, total, started_at, deadline) VALUES (?, ?, ?, 'fetching', ?, ?, ?)`,
      fetchId, model, agentId, total, now, deadline,
    );
  }

  get(fetchId: string): FetchRecord | null {
    return this.rows(`fetch_id = ?`, fetchId)[0] ?? null;
  }

  /** Fetches in progress, oldest first. */
  active(): FetchRecord[] {
    return this.rows(`state = 'fetching' ORDER BY started_at`);
  }

  /** A fetch moved on: its bytes, and its deadline pushed to `deadline` (a download that progresses is not timed out). */
  progress(fetchId: string, agentId: string, bytes: number, total: number | null, deadline: number): boolean {
    return (
      this.sql.exec(
        `UPDATE model_fetches SET deadline = MAX(deadline, CASE WHEN ? > bytes THEN ? ELSE deadline END), bytes = ?, total = COALESCE(?, total)
         WHERE fetch_id = ? AND agent_id = ? AND state = 'fetching'`,
        bytes, deadline, bytes, total, fetchId, agentId,
      ).rowsWritten > 0
    );
  }

  /** Ends a fetch in progress as done or failed; null when it was not in progress (late, repeated, or another agent's). */
  finish(fetchId: string, agentId: string, ok: boolean, error: string | null, now: number, bytes?: number): FetchRecord | null {
    return (
      this.sql
        .exec<FetchRecord & Record<string, SqlStorageValue>>(
          `UPDATE model_fetches SET state = ?, error = ?, finished_at = ?, bytes = COALESCE(?, bytes)
           WHERE fetch_id = ? AND agent_id = ? AND state = 'fetching' RETURNING *`,
          ok ? "done" : "failed", error, now, bytes ?? null, fetchId, agentId,
        )
        .toArray()[0] ?? null
    );
  }

  /** The agent went away: its fetches in progress are lost (not failures: the planner may ask again). */
  loseAgent(agentId: string, now: number): number {
    return this.sql.exec(`UPDATE model_fetches SET state = 'lost', finished_at = ? WHERE agent_id = ? AND state = 'fetching'`, now, agentId).rowsWritten;
  }

  /** Fetches in progress past their deadline. */
  overdue(now: number): FetchRecord[] {
    return this.rows(`state = 'fetching' AND deadline <= ?`, now);
  }

  nextDeadline(): number | null {
    return this.sql.exec<{ t: number | null }>(`SELECT MIN(deadline) AS t FROM model_fetches WHERE state = 'fetching'`).one().t ?? null;
  }

  /** The failures that count towards giving up on `model`, oldest first. */
  openFailures(model: string): FetchRecord[] {
    return this.rows(`model = ? AND state = 'failed' AND open = 1 ORDER BY finished_at`, model);
  }

  /** The model's waiting jobs were failed: its failures count no more (a later job gets fresh tries). */
  closeFailures(model: string): void {
    this.sql.exec(`UPDATE model_fetches SET open = 0 WHERE model = ? AND state = 'failed'`, model);
  }

  /** Fetches of these models the agent finished successfully at `since` or later. */
  doneSince(agentId: string, models: string[], since: number): FetchRecord[] {
    if (models.length === 0) return [];
    return this.rows(
      `agent_id = ? AND state = 'done' AND finished_at >= ? AND model IN (SELECT value FROM json_each(?))`,
      agentId, since, JSON.stringify(models),
    );
  }

  /** Drops finished fetches older than a day, open failures included (their jobs have long waited out MAX_WAIT_S or ended). */
  prune(now: number): void {
    this.sql.exec(`DELETE FROM model_fetches WHERE state != 'fetching' AND finished_at < ?`, now - KEEP_MS);
  }
}

const books = new WeakMap<SqlStorage, FetchBook>();

/** The fetch book over one queue's SQLite (one per storage, made on first use). */
export function fetchBookOf(sql: SqlStorage): FetchBook {
  let book = books.get(sql);
  if (!book) books.set(sql, (book = new FetchBook(sql)));
  return book;
}

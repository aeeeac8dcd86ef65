/**
 * The record of every client upload (`in/<upload_id>` in R2): who owns it, its size and
 * dimensions, until when it is kept, and how many unexpired jobs name it. It lives in one
 * queue object of its own (see stub.ts), so a key's quota is counted in one place.
 *
 * An upload is deleted (object and row) once its TTL has passed and no job holds it; a job
 * holds its inputs from submit until its own retention ends, so an upload two jobs name stays
 * until the later of them expires.
 */
export type UploadRecord = {
  id: string;
  owner: string;
  bytes: number;
  content_type: string;
  width: number;
  height: number;
  created_at: number;
  expires_at: number;
  refs: number;
};

export interface UploadLimits {
  maxCount: number;
  maxBytes: number;
  ttlMs: number;
}

export type Reservation = { ok: true } | { ok: false; message: string };

export class InputUploads {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  /** Counts the upload against its owner's quota before a byte is stored; a row the upload never confirms expires like any other. */
  reserve(id: string, owner: string, bytes: number, now: number, limits: UploadLimits): Reservation {
    const used = this.sql
      .exec<{ n: number; total: number | null }>(`SELECT count(*) AS n, sum(bytes) AS total FROM input_uploads WHERE owner = ?`, owner)
      .one();
    if (used.n + 1 > limits.maxCount) {
      return { ok: false, message: `This key already has ${used.n} uploads (the limit is ${limits.maxCount}); unused uploads are deleted ${Math.round(limits.ttlMs / 3_600_000)} h after upload.` };
    }
    if ((used.total ?? 0) + bytes > limits.maxBytes) {
      return { ok: false, message: `This upload would bring this key's stored uploads to ${(used.total ?? 0) + bytes} bytes (the limit is ${limits.maxBytes}); unused uploads are deleted ${Math.round(limits.ttlMs / 3_600_000)} h after upload.` };
    }
    this.sql.exec(
      `INSERT INTO input_uploads (id, owner, bytes, content_type, width, height, created_at, expires_at, refs) VALUES (?, ?, ?, '', 0, 0, ?, ?, 0)`,
      id, owner, bytes, now, now + limits.ttlMs,
    );
    return { ok: true };
  }

  confirm(id: string, contentType: string, width: number, height: number): void {
    this.sql.exec(`UPDATE input_uploads SET content_type = ?, width = ?, height = ? WHERE id = ?`, contentType, width, height, id);
  }

  drop(id: string): void {
    this.sql.exec(`DELETE FROM input_uploads WHERE id = ?`, id);
  }

  /**
   * A job names these uploads: each must exist, be confirmed and (unless `owner` is null, an
   * admin) belong to `owner`. All or nothing: on success each is held once more.
   */
  hold(ids: string[], owner: string | null): { ok: true; uploads: UploadRecord[] } | { ok: false; missing: string } {
    const found: UploadRecord[] = [];
    for (const id of ids) {
      const row = this.sql.exec<UploadRecord>(`SELECT * FROM input_uploads WHERE id = ?`, id).toArray()[0];
      if (!row || row.width === 0 || (owner !== null && row.owner !== owner)) return { ok: false, missing: id };
      found.push(row);
    }
    for (const id of ids) this.sql.exec(`UPDATE input_uploads SET refs = refs + 1 WHERE id = ?`, id);
    return { ok: true, uploads: found };
  }

  /** A job that held these uploads expired (or was never stored): one hold fewer each. */
  release(ids: string[]): void {
    for (const id of ids) this.sql.exec(`UPDATE input_uploads SET refs = MAX(refs - 1, 0) WHERE id = ?`, id);
  }

  /** Uploads past their TTL that no job holds: at most `limit`, oldest first. */
  due(now: number, limit: number): string[] {
    return this.sql
      .exec<{ id: string }>(`SELECT id FROM input_uploads WHERE refs = 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit)
      .toArray()
      .map((r) => r.id);
  }

  /** When the next unheld upload falls due, if any. */
  nextDeadline(): number | null {
    return this.sql.exec<{ t: number | null }>(`SELECT MIN(expires_at) AS t FROM input_uploads WHERE refs = 0`).one().t ?? null;
  }

  get(id: string): UploadRecord | null {
    return this.sql.exec<UploadRecord>(`SELECT * FROM input_uploads WHERE id = ?`, id).toArray()[0] ?? null;
  }
}

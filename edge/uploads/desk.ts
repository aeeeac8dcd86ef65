import type { Config } from "../env.ts";
import { RateLimiter } from "../queue/rate-limit.ts";
import { InputUploads, type UploadRecord } from "./registry.ts";

export type DeskResult<T> = { ok: true; value: T } | { ok: false; code: "rate_limited" | "upload_quota_exceeded" | "invalid_params"; message: string; retry_after_s?: number };

/**
 * What the uploads registry object does for the Worker: admits uploads (rate limit, then
 * quota), records them, lends them to jobs and deletes the ones nobody holds after their TTL.
 */
export class UploadDesk {
  private readonly uploads: InputUploads;
  private readonly limiter: RateLimiter;
  private readonly config: Config;
  private readonly files: R2Bucket;
  private readonly armAlarm: (at: number) => void;

  constructor(sql: SqlStorage, config: Config, files: R2Bucket, armAlarm: (at: number) => void) {
    this.uploads = new InputUploads(sql);
    // The same per-key limit as submissions, counted apart from them.
    this.limiter = new RateLimiter(config.RATE_LIMIT_PER_MIN);
    this.config = config;
    this.files = files;
    this.armAlarm = armAlarm;
  }

  private get ttlMs(): number {
    return this.config.UPLOAD_TTL_S * 1000;
  }

  reserve(id: string, owner: string, bytes: number, now: number): DeskResult<null> {
    const wait = this.limiter.take(owner, now);
    if (wait > 0) {
      return { ok: false, code: "rate_limited", message: `Too many uploads for this key (limit ${this.config.RATE_LIMIT_PER_MIN}/min); retry in ${wait} s.`, retry_after_s: wait };
    }
    const r = this.uploads.reserve(id, owner, bytes, now, { maxCount: this.config.MAX_UPLOADS_PER_KEY, maxBytes: this.config.MAX_UPLOAD_BYTES_PER_KEY, ttlMs: this.ttlMs });
    if (!r.ok) return { ok: false, code: "upload_quota_exceeded", message: r.message };
    this.armAlarm(now + this.ttlMs);
    return { ok: true, value: null };
  }

  confirm(id: string, contentType: string, width: number, height: number): void {
    this.uploads.confirm(id, contentType, width, height);
  }

  drop(id: string): void {
    this.uploads.drop(id);
  }

  hold(ids: string[], owner: string | null): DeskResult<Pick<UploadRecord, "id" | "width" | "height">[]> {
    const r = this.uploads.hold(ids, owner);
    if (!r.ok) return { ok: false, code: "invalid_params", message: r.missing };
    return { ok: true, value: r.uploads.map((u) => ({ id: u.id, width: u.width, height: u.height })) };
  }

  release(ids: string[], now: number): void {
    this.uploads.release(ids);
    const next = this.uploads.nextDeadline();
    if (next !== null) this.armAlarm(Math.max(next, now));
  }

  /** Deletes the uploads nobody holds past their TTL: rows first (so no job can take one meanwhile), then objects. */
  async sweep(now: number): Promise<number> {
    const ids = this.uploads.due(now, 200);
    for (const id of ids) this.uploads.drop(id);
    if (ids.length) await this.files.delete(ids.map((id) => `in/${id}`));
    return ids.length;
  }

  nextDeadline(): number | null {
    return this.uploads.nextDeadline();
  }

  get(id: string): UploadRecord | null {
    return this.uploads.get(id);
  }
}

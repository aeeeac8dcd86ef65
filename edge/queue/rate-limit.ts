/**
 * A per-key token bucket for submissions, held in the queue's memory: `perMinute` tokens
 * refill evenly, bursts up to `perMinute`. It resets if the object is evicted, which only
 * ever errs on the side of letting a client through.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMinute: number;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Takes `n` tokens, all or none; returns 0 when allowed, else the seconds until they are available. */
  take(key: string, now: number, n = 1): number {
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    if (this.buckets.size > 10_000) this.buckets.clear();
    return Math.max(1, Math.ceil((n - b.tokens) / rate / 1000));
  }
}

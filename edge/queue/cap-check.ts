/**
 * Soft caps (queue depth, queued jobs per key) without a COUNT(*) on every submit: the exact
 * count is taken again after a second, or whenever the running estimate nears the limit.
 * Jobs leaving the queue only make the estimate high, which triggers a recount, never a miss.
 */
export class CapCheck {
  private readonly cache = new Map<string, { n: number; at: number }>();

  /** True when `key` is at its limit; otherwise counts one more and returns false. */
  atLimit(key: string, limit: number, exact: () => number, now: number): boolean {
    const margin = Math.max(1, Math.min(100, Math.floor(limit / 10)));
    let c = this.cache.get(key);
    if (!c || now - c.at > 1_000 || c.n >= limit - margin) {
      c = { n: exact(), at: now };
      this.cache.set(key, c);
      if (this.cache.size > 50_000) this.cache.clear();
    }
    if (c.n >= limit) return true;
    c.n++;
    return false;
  }
}

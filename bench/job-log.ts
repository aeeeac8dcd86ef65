/**
 * What the in-bench protocol agents saw, by job id: when each job frame arrived (epoch ms)
 * and which completions the edge acknowledged. Shared by any number of agents.
 */
export class JobLog {
  readonly arrivals = new Map<string, number>();
  readonly acks = new Set<string>();
  /** Edge `error` frames and malformed frames (the first 20). */
  readonly problems: string[] = [];
  private readonly waiters = new Map<string, () => void>();

  arrived(jobId: string, epochMs: number): void {
    this.arrivals.set(jobId, epochMs);
    this.wake(`job:${jobId}`);
  }

  acked(jobId: string): void {
    this.acks.add(jobId);
    this.wake(`ack:${jobId}`);
  }

  problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
  }

  waitArrival(jobId: string, timeoutMs: number): Promise<number> {
    return this.wait(`job:${jobId}`, () => this.arrivals.has(jobId), timeoutMs).then(() => this.arrivals.get(jobId)!);
  }

  waitAck(jobId: string, timeoutMs: number): Promise<void> {
    return this.wait(`ack:${jobId}`, () => this.acks.has(jobId), timeoutMs);
  }

  private wake(key: string): void {
    const w = this.waiters.get(key);
    if (w) {
      this.waiters.delete(key);
      w();
    }
  }

  private wait(key: string, done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${key}`));
      }, timeoutMs);
      this.waiters.set(key, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

export type Outcome = "success" | "error" | "interrupted" | "crashed";

export interface SimExecution {
  prompt_id: string;
  received_at: number;
  started_at: number;
  ended_at: number;
  outcome: Outcome | string;
}

export interface SimStats {
  promptsReceived: number;
  executed: number;
  succeeded: number;
  failed: number;
  interrupted: number;
  interruptsReceived: number;
  /** Executions cut short by a crash (the fault, `sim.crash()` or `POST /__sim/crash`). */
  crashed: number;
  /** Total ms with a prompt executing. */
  busyMs: number;
  /** Total ms with nothing executing while at least one prompt waited in the sim's queue. */
  idleWhileQueuedMs: number;
  /** Gaps between one execution's end and the next one's start: how long the "GPU" sat idle between jobs. */
  executionGaps: { count: number; totalMs: number; meanMs: number; maxMs: number };
  /** The last 10k executions, oldest first. */
  executions: SimExecution[];
  /** The last 10k HTTP requests, oldest first. */
  requests: { method: string; path: string; at: number }[];
}

const RING = 10_000;

class Ring<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    if (this.items.length < RING) this.items.push(item);
    else {
      this.items[this.head] = item;
      this.head = (this.head + 1) % RING;
    }
  }

  list(): T[] {
    return [...this.items.slice(this.head), ...this.items.slice(0, this.head)];
  }
}

/** Counts what the sim did, for harnesses that measure the agent driving it. */
export class StatsRecorder {
  private promptsReceived = 0;
  private interruptsReceived = 0;
  private counts = { executed: 0, succeeded: 0, failed: 0, interrupted: 0, crashed: 0 };
  private busyMs = 0;
  private idleMs = 0;
  private idleSince: number | null = null;
  private current: { promptId: string; receivedAt: number; startedAt: number } | null = null;
  private lastEndedAt: number | null = null;
  private gaps = { count: 0, totalMs: 0, maxMs: 0 };
  private readonly executions = new Ring<SimExecution>();
  private readonly requests = new Ring<{ method: string; path: string; at: number }>();

  request(method: string, path: string): void {
    this.requests.push({ method, path, at: now() });
  }

  promptReceived(): void {
    this.promptsReceived++;
  }

  interruptReceived(): void {
    this.interruptsReceived++;
  }

  /** Call on every queue change: tracks time with prompts waiting and nothing running. */
  queueState(running: boolean, pending: number): void {
    const idle = !running && pending > 0;
    if (idle && this.idleSince === null) this.idleSince = now();
    if (!idle && this.idleSince !== null) {
      this.idleMs += now() - this.idleSince;
      this.idleSince = null;
    }
  }

  started(promptId: string, receivedAt: number): void {
    const t = now();
    this.counts.executed++;
    this.current = { promptId, receivedAt, startedAt: t };
    if (this.lastEndedAt !== null) {
      const gap = t - this.lastEndedAt;
      this.gaps.count++;
      this.gaps.totalMs += gap;
      this.gaps.maxMs = Math.max(this.gaps.maxMs, gap);
    }
  }

  ended(outcome: Outcome): void {
    const c = this.current;
    if (!c) return;
    const t = now();
    this.current = null;
    this.lastEndedAt = t;
    this.busyMs += t - c.startedAt;
    if (outcome === "success") this.counts.succeeded++;
    else if (outcome === "error") this.counts.failed++;
    else if (outcome === "interrupted") this.counts.interrupted++;
    else this.counts.crashed++;
    this.executions.push({ prompt_id: c.promptId, received_at: c.receivedAt, started_at: c.startedAt, ended_at: t, outcome });
  }

  snapshot(): SimStats {
    const t = now();
    return {
      promptsReceived: this.promptsReceived,
      ...this.counts,
      interruptsReceived: this.interruptsReceived,
      busyMs: this.busyMs + (this.current ? t - this.current.startedAt : 0),
      idleWhileQueuedMs: this.idleMs + (this.idleSince !== null ? t - this.idleSince : 0),
      executionGaps: { ...this.gaps, meanMs: this.gaps.count ? this.gaps.totalMs / this.gaps.count : 0 },
      executions: this.executions.list(),
      requests: this.requests.list(),
    };
  }
}

import type { Graph } from "./validate.ts";

export interface QueueItem {
  readonly number: number;
  readonly promptId: string;
  readonly prompt: Graph;
  readonly extraData: Record<string, unknown>;
  readonly outputs: readonly string[];
  /** When `POST /prompt` accepted it (epoch ms). */
  readonly receivedAt: number;
}

/** How `/queue` and history show an item: `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export type QueueTuple = [number, string, Graph, Record<string, unknown>, readonly string[]];

export interface HistoryStatus {
  status_str: "success" | "error";
  completed: boolean;
  messages: [string, Record<string, unknown>][];
}
export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, unknown>;
  status: HistoryStatus;
  meta: Record<string, unknown>;
}

/** ComfyUI keeps this many history entries, dropping the oldest. */
const MAXIMUM_HISTORY_SIZE = 10000;

const tuple = (i: QueueItem): QueueTuple => [i.number, i.promptId, i.prompt, i.extraData, i.outputs];
const before = (a: QueueItem, b: QueueItem): boolean =>
  a.number < b.number || (a.number === b.number && a.promptId < b.promptId);

/**
 * ComfyUI's `PromptQueue`: pending items ordered by `number` (a heap there, a sorted array
 * here), the one running item, and the in-memory history. Every change calls `onChange`,
 * which broadcasts `status`, as `queue_updated()` does.
 */
export class PromptQueue {
  /** The server's prompt counter (`PromptServer.number`), advanced by every `POST /prompt`. */
  counter = 0;
  running: QueueItem | null = null;
  private pending: QueueItem[] = [];
  private history = new Map<string, HistoryEntry>();
  private readonly onChange: () => void;

  constructor(onChange: () => void) {
    this.onChange = onChange;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** `get_tasks_remaining`: pending plus running. */
  remaining(): number {
    return this.pending.length + (this.running ? 1 : 0);
  }

  put(item: QueueItem): void {
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (!before(item, this.pending[mid] as QueueItem)) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, item);
    this.onChange();
  }

  /** Moves the first pending item to running. */
  take(): QueueItem | undefined {
    const item = this.pending.shift();
    if (!item) return undefined;
    this.running = item;
    this.onChange();
    return item;
  }

  /** Writes the running item's history entry and clears it (`task_done`). */
  done(item: QueueItem, result: { outputs: Record<string, unknown>; meta: Record<string, unknown> }, status: HistoryStatus): void {
    if (this.running === item) this.running = null;
    if (this.history.size > MAXIMUM_HISTORY_SIZE) {
      const oldest = this.history.keys().next().value;
      if (oldest !== undefined) this.history.delete(oldest);
    }
    this.history.set(item.promptId, { prompt: tuple(item), outputs: result.outputs, status, meta: result.meta });
    this.onChange();
  }

  snapshot(): { queue_running: QueueTuple[]; queue_pending: QueueTuple[] } {
    return { queue_running: this.running ? [tuple(this.running)] : [], queue_pending: this.pending.map(tuple) };
  }

  isRunning(promptId: string): boolean {
    return this.running?.promptId === promptId;
  }

  wipe(): void {
    this.pending = [];
    this.onChange();
  }

  /** `delete_queue_item`: removes the first pending item with that id. */
  delete(promptId: string): boolean {
    const at = this.pending.findIndex((i) => i.promptId === promptId);
    if (at < 0) return false;
    if (this.pending.length === 1) this.wipe();
    else this.pending.splice(at, 1);
    this.onChange();
    return true;
  }

  /** `get_history`: one entry (or `{}`), or all with `max_items`/`offset` as ComfyUI pages them. */
  getHistory(promptId?: string, maxItems?: number, offset = -1): Record<string, HistoryEntry> {
    if (promptId !== undefined) {
      const entry = this.history.get(promptId);
      return entry ? { [promptId]: entry } : {};
    }
    const out: Record<string, HistoryEntry> = {};
    let start = offset;
    if (start < 0 && maxItems !== undefined) start = this.history.size - maxItems;
    let i = 0;
    for (const [k, entry] of this.history) {
      if (i >= start) {
        out[k] = entry;
        if (maxItems !== undefined && Object.keys(out).length >= maxItems) break;
      }
      i++;
    }
    return out;
  }

  wipeHistory(): void {
    this.history.clear();
  }

  deleteHistory(promptId: string): void {
    this.history.delete(promptId);
  }

  /** A restart: queue, running item, history and counter are gone (they lived in memory). */
  reset(): void {
    this.pending = [];
    this.running = null;
    this.history.clear();
    this.counter = 0;
  }
}

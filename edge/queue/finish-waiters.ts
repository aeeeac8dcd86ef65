/**
 * Requests holding an answer open until a task ends (`Prefer: wait=N`). Released by the
 * same state change that feeds the events feed, never by polling; a waiter whose time runs
 * out resolves false and is forgotten.
 */
export class FinishWaiters {
  readonly #waiting = new Map<string, Set<(finished: boolean) => void>>();

  /** Resolves true when `settle(taskId)` runs within `ms`, false otherwise. */
  wait(taskId: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.#waiting.get(taskId);
      if (!set) this.#waiting.set(taskId, (set = new Set()));
      const done = (finished: boolean) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.#waiting.get(taskId) === set) this.#waiting.delete(taskId);
        resolve(finished);
      };
      const timer = setTimeout(() => done(false), ms);
      set.add(done);
    });
  }

  /** The task reached a terminal state: every request waiting on it answers now. */
  settle(taskId: string): void {
    const set = this.#waiting.get(taskId);
    if (!set) return;
    for (const done of [...set]) done(true);
  }

}

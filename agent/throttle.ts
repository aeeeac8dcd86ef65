/**
 * Sends at most one value per `intervalMs`: the first at once, later ones coalesced so
 * only the newest goes out when the interval has passed. `flush()` sends a held value now
 * (so the last progress before a result is never dropped).
 */
export class Throttle<T> {
  readonly #intervalMs: number;
  readonly #send: (value: T) => void;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #held: { value: T } | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(intervalMs: number, send: (value: T) => void) {
    this.#intervalMs = intervalMs;
    this.#send = send;
  }

  push(value: T): void {
    const wait = this.#lastSentAt + this.#intervalMs - Date.now();
    if (wait <= 0 && this.#timer === null) {
      this.#emit(value);
      return;
    }
    this.#held = { value };
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, Math.max(0, wait));
  }

  /** Sends `value` now (a change that must not wait, such as a job starting), dropping anything held. */
  pushNow(value: T): void {
    this.close();
    this.#emit(value);
  }

  /**
   * Holds `value` for `ms` (default: a full interval) before sending it, unless something
   * newer replaces it first: for states that are often over before they are worth a message.
   */
  defer(value: T, ms = this.#intervalMs): void {
    this.#held = { value };
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, ms);
  }

  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const held = this.#held;
    this.#held = null;
    if (held) this.#emit(held.value);
  }

  /** Drops anything held. */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#held = null;
  }

  #emit(value: T): void {
    this.#lastSentAt = Date.now();
    this.#send(value);
  }
}

import type { Logger } from "pino";

export type ComfyHealthOptions = {
  /** One look at ComfyUI (`GET /system_stats`); rejects when it cannot be reached. */
  probe: (signal: AbortSignal) => Promise<unknown>;
  /** Between probes while ComfyUI answers: a hung one (stopped, deadlocked) keeps its sockets open. */
  intervalMs: number;
  /** A probe unanswered this long fails. */
  timeoutMs: number;
  /** Between probes while it does not: from min, doubling, to max. */
  retryMinMs: number;
  retryMaxMs: number;
  log: Logger;
  /** ComfyUI stopped answering (once per outage). */
  onDown: (reason: string) => void;
  /** It answers again. */
  onUp: () => void;
};

/**
 * Whether ComfyUI answers, watched all the time: a probe every `intervalMs` while it does, at
 * once when something else saw it fail (`suspect`, `down`), and with backoff while it does not.
 * Transitions call `onDown`/`onUp` once each.
 *
 * @example
 * const health = new ComfyHealth({ probe: (s) => comfy.systemStats(s), ..., onDown, onUp });
 * await health.start(); // resolves after the first probe
 */
export class ComfyHealth {
  readonly #opts: ComfyHealthOptions;
  #up = true;
  #reason: string | null = null;
  #closed = false;
  #wake: (() => void) | null = null;
  #poked = false;
  #loop: Promise<void> | null = null;
  #failures = 0;

  constructor(opts: ComfyHealthOptions) {
    this.#opts = opts;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Why ComfyUI counts as unreachable, or null while it answers. */
  get reason(): string | null {
    return this.#reason;
  }

  /** Probes once (so `up` is known), then keeps watching. */
  async start(): Promise<void> {
    await this.#check();
    this.#loop ??= this.#run();
  }

  /** Something failed to reach ComfyUI (a request, its socket): look now. */
  suspect(): void {
    this.#poke();
  }

  /** ComfyUI is known to be gone (its process exited): no probe needed to say so. */
  down(reason: string): void {
    this.#markDown(reason);
    this.#poke();
  }

  close(): void {
    this.#closed = true;
    this.#poke();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const { intervalMs, retryMinMs, retryMaxMs } = this.#opts;
      await this.#sleep(this.#up ? intervalMs : Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(this.#failures - 1, 16)));
      if (this.#closed) return;
      await this.#check();
    }
  }

  async #check(): Promise<void> {
    try {
      await this.#opts.probe(AbortSignal.timeout(this.#opts.timeoutMs));
    } catch (e) {
      this.#failures += 1;
      this.#markDown(describe(e, this.#opts.timeoutMs));
      return;
    }
    this.#failures = 0;
    if (this.#up || this.#closed) return;
    this.#opts.log.info({ was: this.#reason }, "ComfyUI answers again");
    this.#up = true;
    this.#reason = null;
    this.#opts.onUp();
  }

  #markDown(reason: string): void {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    this.#reason = reason;
    this.#failures = Math.max(1, this.#failures);
    this.#opts.log.warn({ reason }, "ComfyUI is unreachable");
    this.#opts.onDown(reason);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#poked) {
      this.#poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = null;
        self.#poked = false;
        resolve();
      }
      this.#wake = done;
    });
  }

  #poke(): void {
    if (this.#wake) this.#wake();
    else this.#poked = true;
  }
}

function describe(e: unknown, timeoutMs: number): string {
  const err = e as { name?: unknown; message?: unknown; code?: unknown };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `ComfyUI did not answer within ${Math.round(timeoutMs / 1000)}s`;
  const message = typeof err?.message === "string" ? err.message : String(e);
  return message.slice(0, 200);
}

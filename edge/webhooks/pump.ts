import type { QueueCore } from "../queue/core.ts";
import type { Job } from "../queue/types.ts";
import { afterAttempt, attemptDelivery, freshState, WEBHOOK_TIMEOUT_MS } from "./deliver.ts";

/** Deliveries in flight at once: per owner (API key), and in all. */
export const WEBHOOK_PER_OWNER = 2;
export const WEBHOOK_IN_FLIGHT = 32;
/** A delivery's claim on its row outlives its request timeout by this much, then it is due again. */
const CLAIM_MARGIN_MS = 10_000;

/**
 * Runs webhook deliveries beside the queue's work, never inside it: `pump()` starts what is due
 * and returns at once; each delivery records its own outcome when it ends and pumps again.
 * At most WEBHOOK_PER_OWNER per owner are in flight, so one owner's slow or dead receiver holds
 * at most that many slots (each for at most one request timeout) and never another owner's.
 *
 * Before its request a delivery claims its row (webhook_next_at moves to the end of its
 * timeout plus a margin, with the alarm set there): if this object is evicted mid-request, the
 * delivery is simply due again at that time, with the same event id. Its outcome is written
 * only while that claim still stands, so a late finisher never overwrites a newer attempt.
 */
export class WebhookPump {
  readonly #q: QueueCore;
  readonly #byOwner = new Map<string, number>();
  #inFlight = 0;

  constructor(q: QueueCore) {
    this.#q = q;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts every due delivery the limits allow; synchronous apart from the requests it leaves running. */
  pump(): void {
    const q = this.#q;
    let waiting = false;
    for (;;) {
      const room = WEBHOOK_IN_FLIGHT - this.#inFlight;
      if (room <= 0) {
        waiting = q.store.dueWebhooks(q.now(), 1).length > 0;
        break;
      }
      const busy = [...this.#byOwner].filter(([, n]) => n >= WEBHOOK_PER_OWNER).map(([owner]) => owner);
      const due = q.store.dueWebhooks(q.now(), room, busy);
      let started = 0;
      for (const job of due) {
        if (this.#inFlight >= WEBHOOK_IN_FLIGHT || (this.#byOwner.get(job.owner) ?? 0) >= WEBHOOK_PER_OWNER) continue;
        this.#start(job);
        started++;
      }
      if (started === 0) {
        waiting = due.length > 0;
        break;
      }
    }
    // Due deliveries held back by the limits start as slots free; should this object be evicted
    // first, the alarm brings them back no later than one request timeout from now.
    if (waiting) q.armAlarm(q.now() + WEBHOOK_TIMEOUT_MS + CLAIM_MARGIN_MS);
  }

  #start(job: Job): void {
    const q = this.#q;
    const state = job.webhook ?? freshState();
    const now = q.now();
    const claim = now + WEBHOOK_TIMEOUT_MS + CLAIM_MARGIN_MS;
    q.store.setWebhook(job.id, state, claim);
    q.armAlarm(claim);
    this.#inFlight++;
    this.#byOwner.set(job.owner, (this.#byOwner.get(job.owner) ?? 0) + 1);
    const run = attemptDelivery(q, job, state, now)
      .then((attempt) => {
        const { state: next, nextAt } = afterAttempt(q, state, attempt);
        if (q.store.settleWebhook(job.id, claim, next, nextAt) && nextAt !== null) q.armAlarm(nextAt);
      })
      .catch((e) => console.error(JSON.stringify({ msg: "webhook delivery could not be recorded", task_id: job.id, error: String(e) })))
      .finally(() => {
        this.#inFlight--;
        const left = (this.#byOwner.get(job.owner) ?? 1) - 1;
        if (left > 0) this.#byOwner.set(job.owner, left);
        else this.#byOwner.delete(job.owner);
        try {
          this.pump();
        } catch (e) {
          console.error(JSON.stringify({ msg: "webhook pump failed", error: String(e) }));
        }
      });
    q.state.waitUntil(run);
  }
}

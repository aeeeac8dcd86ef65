import type { QueueCore } from "../queue/core.ts";
import type { Job, WebhookAttempt, WebhookState } from "../queue/types.ts";
import { taskView } from "../queue/views.ts";
import { randomId } from "../ids.ts";
import { signWebhook, webhookSecret } from "./signature.ts";
import { checkDeliveryTarget, webhookPolicy } from "./target.ts";

/** How long one delivery may take before it counts as failed (and the next attempt is scheduled). */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** One event, one id: retries keep it so receivers can de-duplicate. */
export const freshState = (): WebhookState => ({ delivered: false, attempts: [], event_id: `msg_${randomId(24)}` });

/** A job that just reached a terminal state with a webhook: its first delivery is due now. True when one was scheduled. */
export function scheduleWebhook(q: QueueCore, job: Job): boolean {
  if (!job.webhook_url || job.webhook) return false;
  q.store.setWebhook(job.id, freshState(), q.now());
  return true;
}

/** One POST of the job's current view to its webhook URL; never throws, the outcome is the attempt. */
export async function attemptDelivery(q: QueueCore, job: Job, state: WebhookState, now: number): Promise<WebhookAttempt> {
  // Checked again at every attempt, names resolved afresh: a DNS answer may have changed since the last one.
  const target = await checkDeliveryTarget(job.webhook_url!, webhookPolicy(q.config));
  if (!target.ok) return { at: now, status: null, error: target.final ? `target refused: ${target.reason}` : `unreachable: ${target.reason}` };
  try {
    const view = await taskView(job, q.config, null, now);
    const timestamp = Math.floor(now / 1000);
    const body = JSON.stringify({ type: `task.${view.status.toLowerCase()}`, timestamp: new Date(now).toISOString(), data: view });
    const secret = await webhookSecret(q.config.SIGNING_KEY, job.owner);
    const res = await fetch(job.webhook_url!, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "comfy-edge-webhooks/1",
        "webhook-id": state.event_id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signWebhook(secret, state.event_id, timestamp, body),
      },
      body,
    });
    await res.body?.cancel();
    return { at: now, status: res.status, error: res.status >= 200 && res.status < 300 ? null : `receiver answered ${res.status}` };
  } catch (e) {
    return { at: now, status: null, error: e instanceof Error ? `${e.name}: ${e.message}` : "request failed" };
  }
}

/** The state after an attempt, and when the next one is due (null: delivered, refused for good, or out of attempts). */
export function afterAttempt(q: QueueCore, state: WebhookState, attempt: WebhookAttempt): { state: WebhookState; nextAt: number | null } {
  const next: WebhookState = { ...state, attempts: [...state.attempts, attempt], delivered: attempt.error === null };
  const delay = q.config.WEBHOOK_BACKOFF_MS[next.attempts.length - 1];
  const refusedForGood = attempt.error?.startsWith("target refused") ?? false;
  return { state: next, nextAt: next.delivered || refusedForGood || delay === undefined ? null : attempt.at + delay };
}

import type { QueueCore } from "../queue/core.ts";
import type { Job, WebhookState } from "../queue/types.ts";
import { taskView } from "../queue/views.ts";
import { randomId } from "../ids.ts";
import { signWebhook, webhookSecret } from "./signature.ts";
import { refuseTarget } from "./target.ts";

/** One event, one id: retries keep it so receivers can de-duplicate. */
const freshState = (): WebhookState => ({ delivered: false, attempts: [], event_id: `msg_${randomId(24)}` });

/** A job that just reached a terminal state with a webhook: its first delivery is due now. */
export function scheduleWebhook(q: QueueCore, job: Job): void {
  if (!job.webhook_url || job.webhook) return;
  q.store.setWebhook(job.id, freshState(), q.now());
  q.armAlarm(q.now());
}

async function deliverOne(q: QueueCore, job: Job): Promise<void> {
  const state = job.webhook ?? freshState();
  const now = q.now();
  const view = await taskView(job, q.config, null, now);
  const timestamp = Math.floor(now / 1000);
  const body = JSON.stringify({ type: `task.${view.status.toLowerCase()}`, timestamp: new Date(now).toISOString(), data: view });
  let status: number | null = null;
  let error: string | null = refuseTarget(job.webhook_url!, { allowHttp: q.config.ALLOW_HTTP_WEBHOOKS, allowHosts: q.config.WEBHOOK_ALLOW_HOSTS });
  if (error) error = `target refused: ${error}`;
  else {
    try {
      const secret = await webhookSecret(q.config.SIGNING_KEY, job.owner);
      const res = await fetch(job.webhook_url!, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(10_000),
        headers: {
          "content-type": "application/json",
          "user-agent": "comfy-edge-webhooks/1",
          "webhook-id": state.event_id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": await signWebhook(secret, state.event_id, timestamp, body),
        },
        body,
      });
      status = res.status;
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) error = `receiver answered ${res.status}`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : "request failed";
    }
  }
  state.attempts.push({ at: now, status, error });
  state.delivered = error === null;
  const delays = q.config.WEBHOOK_BACKOFF_MS;
  const delay = delays[state.attempts.length - 1];
  const refusedForGood = error?.startsWith("target refused") ?? false;
  const nextAt = state.delivered || refusedForGood || delay === undefined ? null : now + delay;
  q.store.setWebhook(job.id, state, nextAt);
  if (nextAt !== null) q.armAlarm(nextAt);
}

/** Delivers every webhook that is due, a bounded batch at a time. */
export async function deliverDueWebhooks(q: QueueCore): Promise<void> {
  const due = q.store.dueWebhooks(q.now(), 50);
  await Promise.all(due.map((job) => deliverOne(q, job)));
}

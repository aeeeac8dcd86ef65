import type { WebhookAttempt } from "../queue/types.ts";

/** How an attempt ended, as a client may see it: a class, never a connection error's text (which would map ports and hosts). */
export type WebhookOutcome = "delivered" | "rejected" | "unreachable" | "refused";

export function webhookOutcome(a: WebhookAttempt): WebhookOutcome {
  if (a.error === null) return "delivered";
  if (a.error.startsWith("target refused")) return "refused";
  if (a.status !== null) return "rejected";
  return "unreachable";
}

/** The attempt in the task view: the outcome class, and for a refusal the policy's own reason (it names only the URL the client gave). */
export function attemptView(a: WebhookAttempt): { at: string; status: number | null; outcome: WebhookOutcome; error: string | null } {
  const outcome = webhookOutcome(a);
  const error = {
    delivered: null,
    rejected: `rejected by receiver (HTTP ${a.status})`,
    unreachable: "unreachable",
    refused: a.error,
  }[outcome];
  return { at: new Date(a.at).toISOString(), status: a.status, outcome, error };
}

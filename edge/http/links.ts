import { expiryFrom, sign, verify } from "../auth/signing.ts";
import type { Config } from "../env.ts";

/** How long a browser's events token lives; enough to watch a long job, short enough to leak little. */
const EVENTS_TOKEN_TTL_S = 6 * 3600;

/** `events_url` for a task: carries a short-lived signed token, never the API key. */
export async function eventsUrl(config: Config, taskId: string, now = Date.now()): Promise<string> {
  const exp = expiryFrom(now, EVENTS_TOKEN_TTL_S);
  const sig = await sign(config.SIGNING_KEY, "events", taskId, exp);
  return `${config.PUBLIC_URL}/tasks/${taskId}/events?token=${exp}.${sig}`;
}

export function statusUrl(config: Config, taskId: string): string {
  return `${config.PUBLIC_URL}/tasks/${taskId}`;
}

export async function verifyEventsToken(config: Config, taskId: string, token: string) {
  // Exactly `<exp>.<sig>`: a third part (trailing junk) makes the token invalid, not ignored.
  const m = /^([^.]+)\.([^.]+)$/.exec(token);
  if (!m) return "invalid";
  const [, exp, sig] = m;
  return verify(config.SIGNING_KEY, "events", taskId, exp, sig);
}

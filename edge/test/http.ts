import { SELF } from "cloudflare:test";
import { TEST_KEYS } from "./bindings.ts";

export type Who = keyof typeof TEST_KEYS | "none" | "wrong";

/** A request to the real Worker (through workerd), as one of the test keys. */
export function call(method: string, path: string, who: Who = "alice", body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (who === "wrong") h.authorization = "Bearer not-a-real-key-at-all-0000";
  else if (who !== "none") h.authorization = `Bearer ${TEST_KEYS[who]}`;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    payload = typeof body === "string" || body instanceof Uint8Array ? (body as BodyInit) : JSON.stringify(body);
    h["content-type"] ??= "application/json";
  }
  return SELF.fetch(`http://edge.test${path}`, { method, headers: h, body: payload });
}

export async function submit(params: Record<string, unknown> = { prompt: "a cat" }, who: Who = "alice", extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const res = await call("POST", "/v1/jobs", who, { workflow_id: "sd15_basic", params, ...extra }, headers);
  return { res, body: (await res.json()) as Record<string, any> };
}

/**
 * Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<ts>.<body>")>`.
 * Each API key gets its own secret, derived from SIGNING_KEY and the key's name, shown to
 * the key's owner as `whsec_<base64>` (see GET /v1/webhook-secret).
 */
const encoder = new TextEncoder();

function b64(bytes: ArrayBuffer | Uint8Array): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

export async function webhookSecret(signingKey: string, owner: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(signingKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`webhook-secret\n${owner}`)));
}

export async function webhookSecretText(signingKey: string, owner: string): Promise<string> {
  return `whsec_${b64(await webhookSecret(signingKey, owner))}`;
}

export async function signWebhook(secret: Uint8Array, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const sig = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${b64(sig)}`;
}

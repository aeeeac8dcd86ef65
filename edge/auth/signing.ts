/**
 * HMAC-SHA256 signatures for links the edge hands out (downloads, agent uploads, event
 * tokens). Each purpose is a separate domain in the signed string, so a signature for one
 * can never be replayed as another.
 */
export type SignPurpose = "file" | "upload" | "events" | "input";

const keys = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(s)) return null;
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function message(purpose: SignPurpose, subject: string, exp: number): Uint8Array {
  return encoder.encode(`${purpose}\n${subject}\n${exp}`);
}

export async function sign(secret: string, purpose: SignPurpose, subject: string, exp: number): Promise<string> {
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), message(purpose, subject, exp));
  return toBase64Url(sig);
}

export type VerifyResult = "ok" | "invalid" | "expired";

/** Checks a signature (constant time, via WebCrypto verify) and then its expiry (epoch seconds). */
export async function verify(
  secret: string,
  purpose: SignPurpose,
  subject: string,
  exp: string | undefined,
  sig: string | undefined,
  nowMs = Date.now(),
): Promise<VerifyResult> {
  // Only the canonical form: no leading zeros, no padding, no stray bits in the last character.
  if (!exp || !sig || !/^(0|[1-9]\d{0,11})$/.test(exp)) return "invalid";
  const raw = fromBase64Url(sig);
  if (!raw || toBase64Url(raw) !== sig) return "invalid";
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(secret), raw, message(purpose, subject, Number(exp)));
  if (!ok) return "invalid";
  return Number(exp) * 1000 < nowMs ? "expired" : "ok";
}

/** Expiry in epoch seconds, `ttlS` from now but never after `capMs` (a link never outlives its file). */
export function expiryFrom(nowMs: number, ttlS: number, capMs?: number): number {
  const exp = Math.floor(nowMs / 1000) + ttlS;
  return capMs === undefined ? exp : Math.min(exp, Math.floor(capMs / 1000));
}

export async function signedUrl(base: string, path: string, secret: string, purpose: SignPurpose, subject: string, exp: number): Promise<string> {
  const sig = await sign(secret, purpose, subject, exp);
  return `${base}${path}?exp=${exp}&sig=${sig}`;
}

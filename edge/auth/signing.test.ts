import { describe, expect, it } from "vitest";
import { expiryFrom, sign, verify } from "./signing.ts";
import { signWebhook, webhookSecretText } from "../webhooks/signature.ts";

const secret = "a-signing-secret-for-tests-0001";

describe("signed links", () => {
  it("verifies its own signature and refuses every tampering", async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const sig = await sign(secret, "file", "out/a/b/0", exp);
    expect(await verify(secret, "file", "out/a/b/0", String(exp), sig)).toBe("ok");
    expect(await verify(secret, "file", "out/a/b/1", String(exp), sig)).toBe("invalid");
    expect(await verify(secret, "upload", "out/a/b/0", String(exp), sig)).toBe("invalid");
    expect(await verify(secret, "file", "out/a/b/0", String(exp + 1), sig)).toBe("invalid");
    expect(await verify("another-secret-entirely-000000", "file", "out/a/b/0", String(exp), sig)).toBe("invalid");
    expect(await verify(secret, "file", "out/a/b/0", undefined, sig)).toBe("invalid");
    expect(await verify(secret, "file", "out/a/b/0", String(exp), "!!")).toBe("invalid");
  });

  it("says expired only for a genuine signature past its time", async () => {
    const exp = Math.floor(Date.now() / 1000) - 1;
    const sig = await sign(secret, "file", "k", exp);
    expect(await verify(secret, "file", "k", String(exp), sig)).toBe("expired");
  });

  it("caps a link's expiry at its file's", () => {
    expect(expiryFrom(1_000_000, 3600, 1_500_000)).toBe(1500);
    expect(expiryFrom(1_000_000, 100)).toBe(1100);
  });
});

describe("Standard Webhooks signatures", () => {
  it("signs id.timestamp.body with the key's derived secret, as v1,<base64>", async () => {
    const text = await webhookSecretText(secret, "alice");
    expect(text).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const key = Uint8Array.from(atob(text.slice(6)), (c) => c.charCodeAt(0));
    const sig = await signWebhook(key, "msg_1", 1700000000, '{"a":1}');
    const expected = await crypto.subtle.sign("HMAC", await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]), new TextEncoder().encode('msg_1.1700000000.{"a":1}'));
    expect(sig).toBe(`v1,${btoa(String.fromCharCode(...new Uint8Array(expected)))}`);
    expect(await webhookSecretText(secret, "bob")).not.toBe(text);
  });
});

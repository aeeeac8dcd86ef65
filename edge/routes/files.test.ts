import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sign } from "../auth/signing.ts";
import { TEST_BINDINGS } from "../test/bindings.ts";
import { call } from "../test/http.ts";

const key = `out/tsk_files${crypto.randomUUID().slice(0, 8)}/lse_x/0`;
const bytes = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));

async function link(k: string, exp: number) {
  const sig = await sign(TEST_BINDINGS.SIGNING_KEY!, "file", k, exp);
  return `/files/${k}?exp=${exp}&sig=${sig}`;
}
const later = () => Math.floor(Date.now() / 1000) + 600;

describe("GET /files/{key} (signed links)", () => {
  it("streams the object with its content type, and supports HEAD and Range", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    const url = await link(key, later());
    const full = await call("GET", url, "none");
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toBe("image/png");
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(bytes);

    const head = await call("HEAD", url, "none");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("1000");
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const part = await call("GET", url, "none", undefined, { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(10, 20));

    const suffix = await call("GET", url, "none", undefined, { range: "bytes=-5" });
    expect(suffix.status).toBe(206);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.slice(995));
  });

  it("refuses a tampered signature, another key's signature, or a missing one with 403", async () => {
    await env.FILES.put(key, bytes);
    const good = await link(key, later());
    const tampered = good.replace(/sig=(.)/, (_, c: string) => `sig=${c === "A" ? "B" : "A"}`);
    const otherKey = good.replace(key, key.replace(/0$/, "1"));
    const bumpedExp = good.replace(/exp=(\d+)/, (_, e: string) => `exp=${Number(e) + 1}`);
    for (const u of [tampered, otherKey, bumpedExp, `/files/${key}`, `/files/${key}?exp=abc&sig=zzz`]) {
      const res = await call("GET", u, "none");
      expect(res.status, u).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_signature");
    }
  });

  it("refuses an expired link with 403 link_expired", async () => {
    const res = await call("GET", await link(key, Math.floor(Date.now() / 1000) - 1), "none");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("link_expired");
  });

  it("says 404 when a signed link's file is gone", async () => {
    const res = await call("GET", await link("out/gone/x/0", later()), "none");
    expect(res.status).toBe(404);
  });
});

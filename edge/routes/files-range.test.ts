import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { malformedRange } from "../../chaos/fuzz/arbitraries.ts";
import { sign } from "../auth/signing.ts";
import { TEST_BINDINGS } from "../test/bindings.ts";
import { call } from "../test/http.ts";

const key = `out/tsk_range${crypto.randomUUID().slice(0, 8)}/lse_x/3`;
const bytes = new Uint8Array(Array.from({ length: 100 }, (_, i) => i));

async function url(): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 600;
  return `/files/${key}?exp=${exp}&sig=${await sign(TEST_BINDINGS.SIGNING_KEY!, "file", key, exp)}`;
}
const get = async (range: string) => call("GET", await url(), "none", undefined, { range });

describe("GET /files Range per RFC 9110", () => {
  it("answers a range that starts past the end with 416 and Content-Range: bytes */size", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    for (const range of ["bytes=99999-", "bytes=100-", "bytes=100-200", "bytes=-0"]) {
      const res = await get(range);
      expect(res.status, range).toBe(416);
      expect(res.headers.get("content-range"), range).toBe("bytes */100");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");
    }
  });

  it("ignores unparseable and multi-range headers: 200 with the full body", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    const ignored = ["bytes=0-1,5-6", "bytes=5-1", "items=0-5", "bytes=abc", "bytes=", "bytes=--5", "bytes=0x10-", "bytes 0-5", "bytes=1-2-3", "bytes=-", "=0-5", "bytes=0-5,"];
    for (const range of ignored) {
      const res = await get(range);
      expect(res.status, range).toBe(200);
      expect(res.headers.get("content-range"), range).toBeNull();
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(bytes);
    }
  });

  it("serves satisfiable single ranges, clamping the end to the size", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    const cases: [string, number, number][] = [["bytes=90-", 90, 99], ["bytes=95-1000", 95, 99], ["bytes=-150", 0, 99], ["BYTES=0-0", 0, 0], ["bytes=99-99", 99, 99]];
    for (const [range, from, to] of cases) {
      const res = await get(range);
      expect(res.status, range).toBe(206);
      expect(res.headers.get("content-range"), range).toBe(`bytes ${from}-${to}/100`);
      expect(new Uint8Array(await res.arrayBuffer()), range).toEqual(bytes.slice(from, to + 1));
    }
  });

  it("names the file: inline for images, from the key, never from client input", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    const res = await call("GET", await url(), "none");
    const task = key.split("/")[1];
    expect(res.headers.get("content-disposition")).toBe(`inline; filename="${task}-3.png"`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    await res.arrayBuffer();
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "text/html" } });
    const html = await call("GET", await url(), "none");
    expect(html.headers.get("content-disposition")).toBe(`attachment; filename="${task}-3.bin"`);
    await html.arrayBuffer();
  });

  it("answers any Range header (fuzzed) with 200 and the whole body, a consistent 206, or 416", async () => {
    await env.FILES.put(key, bytes, { httpMetadata: { contentType: "image/png" } });
    const link = await url();
    await fc.assert(
      fc.asyncProperty(malformedRange, async (range) => {
        const res = await call("GET", link, "none", undefined, { range });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status === 200) {
          expect(body, range).toEqual(bytes);
          expect(res.headers.get("content-range"), range).toBeNull();
        } else if (res.status === 206) {
          const m = /^bytes (\d+)-(\d+)\/100$/.exec(res.headers.get("content-range") ?? "");
          expect(m, range).not.toBeNull();
          const [from, to] = [Number(m![1]), Number(m![2])];
          expect(from <= to && to < 100, range).toBe(true);
          expect(body, range).toEqual(bytes.slice(from, to + 1));
          expect(range.includes(","), range).toBe(false);
        } else {
          expect(res.status, range).toBe(416);
          expect(res.headers.get("content-range"), range).toBe("bytes */100");
        }
      }),
      { numRuns: 150 },
    );
  });
});

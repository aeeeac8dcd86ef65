import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { DownloadError } from "./errors.ts";
import { openFollowingRedirects } from "./redirects.ts";
import { undiciTransport } from "./transport.ts";

type Seen = { host: string; path: string; authorization: string | null; range: string | null };
type Reply = { status: number; headers?: Record<string, string>; body?: string };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** One local server standing in for every host (the host map sends them all here); `route` answers by Host and path. */
async function hosts(route: (host: string, path: string) => Reply): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const host = req.headers.host ?? "";
    const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : null);
    seen.push({ host, path: req.url ?? "", authorization: header("authorization"), range: header("range") });
    const reply = route(host, req.url ?? "");
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? "");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const HUB = "huggingface.co";
const CDN = "cdn-lfs.hf.co";
const SHA = "ab".repeat(32);

async function open(origin: string, url: string, token: string | null = "hf_secret") {
  const transport = undiciTransport({ hostMap: { [HUB]: origin, [CDN]: origin, "mirror.example": origin } });
  closers.push(() => transport.close());
  return openFollowingRedirects(new URL(url), { transport, token, headers: { range: "bytes=5-" } });
}

const caught = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

describe("openFollowingRedirects over undici's redirect interceptor", () => {
  test("the token goes to each Hub hop and to no other, even when the chain comes back to the Hub; the Hub's facts are kept", async () => {
    const h = await hosts((host, path): Reply => {
      if (host === HUB && path === "/o/r/resolve/main/m.bin") {
        return { status: 302, headers: { location: `https://${CDN}/blob/1`, "x-linked-etag": `"${SHA}"`, "x-repo-commit": "C".repeat(40) } };
      }
      if (host === CDN) return { status: 307, headers: { location: `https://${HUB}/api/final` } };
      return { status: 206, headers: { "content-range": "bytes 5-9/10" }, body: "hello" };
    });
    const { response, finalUrl, hub } = await open(h.origin, `https://${HUB}/o/r/resolve/main/m.bin`);
    expect(response.status).toBe(206);
    expect(Buffer.concat(await response.body.toArray()).toString()).toBe("hello");
    expect(finalUrl.href).toBe(`https://${HUB}/api/final`);
    expect(hub).toEqual({ sha256: SHA, commit: "c".repeat(40) });
    expect(h.seen.map((s) => [s.host, s.authorization, s.range])).toEqual([
      [HUB, "Bearer hf_secret", "bytes=5-"],
      [CDN, null, "bytes=5-"],
      [HUB, "Bearer hf_secret", "bytes=5-"],
    ]);
  });

  test("an https page redirecting to plain http is refused before that hop is sent", async () => {
    const h = await hosts(() => ({ status: 302, headers: { location: "http://mirror.example/m.bin" } }));
    const err = await caught(open(h.origin, `https://${HUB}/o/r/resolve/main/m.bin`));
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toMatchObject({ code: "insecure_redirect", retryable: false });
    expect(h.seen).toHaveLength(1);
  });

  test("a redirect loop and an endless chain both fail as too_many_redirects, the chain after 10 hops", async () => {
    const loop = await hosts((_host, path) => ({ status: 302, headers: { location: path === "/a" ? "/b" : "/a" } }));
    const looped = await caught(open(loop.origin, "https://mirror.example/a", null));
    expect((looped as DownloadError).failure).toMatchObject({ code: "too_many_redirects", retryable: false });
    expect(loop.seen.map((s) => s.path)).toEqual(["/a", "/b"]);

    const endless = await hosts((_host, path) => ({ status: 301, headers: { location: `/n${Number(path.slice(2) || 0) + 1}` } }));
    const chained = await caught(open(endless.origin, "https://mirror.example/n0", null));
    expect((chained as DownloadError).failure).toMatchObject({ code: "too_many_redirects", message: "more than 10 redirects from https://mirror.example/n0" });
    expect(endless.seen).toHaveLength(11);
  });

  test("a redirect without a Location is the answer, reported as an http_error", async () => {
    const h = await hosts(() => ({ status: 302 }));
    const err = await caught(open(h.origin, "https://mirror.example/m.bin", null));
    expect((err as DownloadError).failure).toMatchObject({ code: "http_error", message: "mirror.example answered 302 without a Location", retryable: true });
  });
});

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDeliveryTarget, refuseTarget, type TargetPolicy } from "../../edge/webhooks/target.ts";
import { ssrfUrl } from "./arbitraries.ts";
import { assertProperty } from "./assert.ts";

/** A DNS-over-HTTPS stand-in on 127.0.0.1 (RFC 8484 JSON, as cloudflare-dns.com answers): names that resolve inward, and public ones. */
const ZONE: Record<string, { A?: string[]; AAAA?: string[] }> = {
  "127.0.0.1.nip.io": { A: ["127.0.0.1"] },
  "localtest.me": { A: ["127.0.0.1"], AAAA: ["::1"] },
  "metadata.example.net": { A: ["169.254.169.254"] },
  "mapped.example.net": { AAAA: ["::ffff:10.0.0.1"] },
  "hooks.example.com": { A: ["93.184.216.34"] },
};
let server: Server;
let resolver: string;
let questions = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    questions++;
    const url = new URL(req.url!, "http://doh");
    const name = url.searchParams.get("name") ?? "";
    const type = url.searchParams.get("type") === "AAAA" ? "AAAA" : "A";
    const entry = ZONE[name];
    res.setHeader("content-type", "application/dns-json");
    if (req.headers.accept !== "application/dns-json") {
      res.statusCode = 400;
      return res.end("{}");
    }
    const Answer = (entry?.[type] ?? []).map((data) => ({ name, type: type === "A" ? 1 : 28, TTL: 30, data }));
    res.end(JSON.stringify({ Status: entry ? 0 : 3, Answer }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  resolver = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dns-query`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const policy = (): TargetPolicy => ({ allowHttp: true, allowHosts: [], resolver });

describe("webhook SSRF: host forms (fuzzed) and resolution against a DoH stand-in", () => {
  it("refuses every generated internal host form without needing DNS", async () => {
    await assertProperty(
      fc.asyncProperty(ssrfUrl, async (url) => {
        expect(refuseTarget(url, { allowHttp: true, allowHosts: [] }), url).not.toBeNull();
      }),
      { numRuns: 400 },
    );
  });

  it("refuses names that resolve to loopback, link-local or mapped private addresses", async () => {
    for (const host of ["localtest.me", "metadata.example.net", "mapped.example.net"]) {
      const verdict = await checkDeliveryTarget(`https://${host}/hook`, policy());
      expect(verdict, host).toMatchObject({ ok: false, final: true });
    }
    expect(questions).toBeGreaterThan(0);
  });

  it("allows a name that resolves publicly, and retries (not allows) a name that does not resolve", async () => {
    expect(await checkDeliveryTarget("https://hooks.example.com/hook", policy())).toEqual({ ok: true });
    expect(await checkDeliveryTarget("https://nowhere.example.com/hook", policy())).toMatchObject({ ok: false, final: false });
  });

  it("counts a resolver that is down as unreachable", async () => {
    const dead = `http://127.0.0.1:1/dns-query`;
    expect(await checkDeliveryTarget("https://hooks.example.com/", { ...policy(), resolver: dead })).toMatchObject({ ok: false, final: false });
  });
});

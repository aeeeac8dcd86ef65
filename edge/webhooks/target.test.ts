import { describe, expect, it } from "vitest";
import { checkDeliveryTarget, refuseAddress, refuseTarget, type TargetPolicy } from "./target.ts";
import type { DohFetch } from "./resolve.ts";

const strict = { allowHttp: false, allowHosts: [] };

describe("webhook targets (SSRF)", () => {
  const refused: [string, RegExp][] = [
    ["http://example.com/hook", /https/],
    ["https://127.0.0.1/hook", /private/],
    ["https://10.1.2.3/", /private/],
    ["https://172.16.0.1/", /private/],
    ["https://192.168.1.1/", /private/],
    ["https://169.254.169.254/latest/meta-data", /private/],
    ["https://100.64.0.1/", /private/],
    ["https://0.0.0.0/", /private/],
    ["https://[::1]/", /private/],
    ["https://[fd00::1]/", /private/],
    ["https://[fe80::1]/", /private/],
    ["https://[::ffff:127.0.0.1]/", /private/],
    ["https://2130706433/", /private/], // the URL parser normalises it to 127.0.0.1
    ["https://0x7f.0.0.1/", /private/],
    ["https://localhost/", /local/],
    ["https://api.localhost/", /local/],
    ["https://printer.local/", /local/],
    ["https://metadata.internal/", /local/],
    ["https://intranet/", /local/],
    ["https://user:pass@example.com/", /credentials/],
    ["ftp://example.com/", /https/],
    ["not a url", /valid/],
  ];
  for (const [url, why] of refused) {
    it(`refuses ${url}`, () => {
      expect(refuseTarget(url, strict)).toMatch(why);
    });
  }

  it("allows public https hosts and addresses", () => {
    expect(refuseTarget("https://hooks.example.com/a?b=c", strict)).toBeNull();
    expect(refuseTarget("https://93.184.216.34/hook", strict)).toBeNull();
    expect(refuseTarget("https://[2606:4700::1111]/", strict)).toBeNull();
  });

  it("allows an explicitly allow-listed local host (local dev), over http too", () => {
    const dev = { allowHttp: false, allowHosts: ["127.0.0.1:9999"] };
    expect(refuseTarget("http://127.0.0.1:9999/hook", dev)).toBeNull();
    expect(refuseTarget("http://127.0.0.1:9998/hook", dev)).toMatch(/https|private/);
  });

  it("allows http only when local dev says so, still refusing private hosts", () => {
    const dev = { allowHttp: true, allowHosts: [] };
    expect(refuseTarget("http://example.com/hook", dev)).toBeNull();
    expect(refuseTarget("http://127.0.0.1/hook", dev)).toMatch(/private/);
  });

  const bypasses: string[] = [
    // One trailing dot names the same host.
    "http://localhost.:19999/", "https://localhost./", "https://metadata.google.internal./computeMetadata/v1/", "https://127.0.0.1./",
    // Special-use and internal suffixes.
    "https://printer.local./", "https://a.b.internal/", "https://x.localhost/", "https://nas.home.arpa/", "https://api.default.svc/",
    "https://kubernetes.default.svc.cluster.local/", "https://gw.lan/", "https://intranet.corp/", "https://x.onion/", "https://x.test/",
    // IDNA: full-width letters map to "localhost".
    "https://ｌｏｃａｌｈｏｓｔ/", "https://LOCALHOST/",
    // IPv6 forms that reach IPv4 loopback or private space, and non-global ranges.
    "https://[::127.0.0.1]/", "https://[::7f00:1]/", "https://[::ffff:0:7f00:1]/", "https://[2002:7f00:1::]/", "https://[2002:a00:1::1]/",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "https://[fec0::1]/", "https://[100::1]/", "https://[64:ff9b::7f00:1]/",
    "https://[::]/", "https://[ff02::1]/", "https://[2001:db8::1]/", "https://[::ffff:a00:1]/", "https://[3fff::1]/", "https://[5f00::1]/",
    // IPv4 special ranges.
    "https://192.0.0.8/", "https://198.18.0.1/", "https://255.255.255.255/", "https://224.0.0.1/", "https://0.1.2.3/", "https://240.0.0.1/",
    // Names that spell a private address.
    "https://127.0.0.1.nip.io/", "https://app.10.0.0.1.sslip.io/",
  ];
  for (const url of bypasses) {
    it(`refuses the bypass form ${url}, even with http allowed (as on npm start)`, () => {
      expect(refuseTarget(url, { allowHttp: true, allowHosts: [] })).toMatch(/private|local|internal|numeric|empty/);
    });
  }

  it("refuses two trailing dots (an empty label) and accepts a public name with one", () => {
    expect(refuseTarget("https://example.com../", strict)).toMatch(/empty/);
    expect(refuseTarget("https://hooks.example.com./", strict)).toBeNull();
  });

  it("classifies literal addresses by range: only global unicast passes", () => {
    for (const ok of ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2001:4860:4860::8888"]) expect(refuseAddress(ok), ok).toBeNull();
    for (const bad of ["10.0.0.1", "127.0.0.1", "::1", "::ffff:127.0.0.1", "fe80::1", "fc00::1", "2002:c0a8:101::1", "not-an-ip"]) expect(refuseAddress(bad), bad).not.toBeNull();
  });
});

/** A DNS-over-HTTPS stand-in (RFC 8484 JSON) answering from a table, as the runtime's fetch would be answered. */
function dohStandIn(table: Record<string, { A?: string[]; AAAA?: string[]; status?: number }>): { fetch: DohFetch; asked: string[] } {
  const asked: string[] = [];
  const fetcher: DohFetch = async (input, init) => {
    const url = new URL(input);
    expect(new Headers(init?.headers).get("accept")).toBe("application/dns-json");
    const name = url.searchParams.get("name")!;
    const type = url.searchParams.get("type") as "A" | "AAAA";
    asked.push(`${name} ${type}`);
    const entry = table[name];
    if (!entry) return Response.json({ Status: 3 });
    const Answer = (entry[type] ?? []).map((data) => ({ name, type: type === "A" ? 1 : 28, TTL: 60, data }));
    return Response.json({ Status: entry.status ?? 0, Answer });
  };
  return { fetch: fetcher, asked };
}

describe("webhook targets: resolution before delivery", () => {
  const policy: TargetPolicy = { allowHttp: false, allowHosts: [], resolver: "https://doh.test/dns-query" };
  const doh = dohStandIn({
    "127.0.0.1.nip.io": { A: ["127.0.0.1"] },
    "localtest.me": { A: ["127.0.0.1"], AAAA: ["::1"] },
    "rebind.example.com": { A: ["93.184.216.34", "10.0.0.7"] },
    "v6only.example.com": { AAAA: ["fd00::5"] },
    "hooks.example.com": { A: ["93.184.216.34"], AAAA: ["2606:2800:220:1:248:1893:25c8:1946"] },
    "servfail.example.com": { status: 2 },
  });

  it("refuses names whose answers include a private address, for good", async () => {
    for (const host of ["localtest.me", "rebind.example.com", "v6only.example.com"]) {
      const v = await checkDeliveryTarget(`https://${host}/hook`, policy, doh.fetch);
      expect(v, host).toMatchObject({ ok: false, final: true, reason: expect.stringMatching(/resolves to .* private/) });
    }
  });

  it("allows a name whose every answer is public, asking for both A and AAAA", async () => {
    expect(await checkDeliveryTarget("https://hooks.example.com/hook", policy, doh.fetch)).toEqual({ ok: true });
    expect(doh.asked).toEqual(expect.arrayContaining(["hooks.example.com A", "hooks.example.com AAAA"]));
  });

  it("treats a resolver failure or a name with no address as unreachable (retried), not as allowed", async () => {
    for (const host of ["servfail.example.com", "nxdomain.example.com"]) {
      const v = await checkDeliveryTarget(`https://${host}/`, policy, doh.fetch);
      expect(v, host).toMatchObject({ ok: false, final: false });
    }
    const down: DohFetch = async () => {
      throw new TypeError("connection refused");
    };
    expect(await checkDeliveryTarget("https://hooks.example.com/", policy, down)).toMatchObject({ ok: false, final: false });
  });

  it("resolves the normalised host (lowercase, no trailing dot), skips literals and allow-listed hosts", async () => {
    const seen = dohStandIn({ "hooks.example.com": { A: ["93.184.216.34"] } });
    expect(await checkDeliveryTarget("https://HOOKS.Example.COM./x", policy, seen.fetch)).toEqual({ ok: true });
    expect(seen.asked).toContain("hooks.example.com A");
    const none = dohStandIn({});
    expect(await checkDeliveryTarget("https://93.184.216.34/", policy, none.fetch)).toEqual({ ok: true });
    expect(await checkDeliveryTarget("http://127.0.0.1:9999/", { ...policy, allowHosts: ["127.0.0.1:9999"] }, none.fetch)).toEqual({ ok: true });
    expect(none.asked).toEqual([]);
  });

  it("skips resolution when no resolver is configured (static checks still apply)", async () => {
    const none = dohStandIn({});
    expect(await checkDeliveryTarget("https://hooks.example.com/", { ...policy, resolver: null }, none.fetch)).toEqual({ ok: true });
    expect(await checkDeliveryTarget("https://localhost./", { ...policy, resolver: null }, none.fetch)).toMatchObject({ ok: false, final: true });
    expect(none.asked).toEqual([]);
  });
});

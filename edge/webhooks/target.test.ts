import { describe, expect, it } from "vitest";
import { refuseTarget } from "./target.ts";

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
});

import { describe, expect, it } from "vitest";
import { isHuggingFaceHost, mayCarryToken } from "./hosts.ts";

describe("token hosts", () => {
  it("knows the Hub's hosts and nothing that merely looks like them", () => {
    for (const host of ["huggingface.co", "HF.CO", "cdn-lfs.huggingface.co", "huggingface.co."]) expect(isHuggingFaceHost(host)).toBe(true);
    for (const host of ["evilhuggingface.co", "huggingface.co.evil.com", "cdn-lfs.hf.co.evil", "example.com", "hf.com"]) expect(isHuggingFaceHost(host)).toBe(false);
  });

  it("lets the token go only to the Hub host the config named, never across a redirect to another host", () => {
    const hub = new URL("https://huggingface.co/o/r/resolve/main/x");
    expect(mayCarryToken(hub, new URL("https://huggingface.co/api/resolve-cache/x"))).toBe(true);
    expect(mayCarryToken(hub, new URL("https://cdn-lfs.huggingface.co/x"))).toBe(false);
    expect(mayCarryToken(hub, new URL("https://cdn.example.com/x"))).toBe(false);
    expect(mayCarryToken(hub, new URL("http://huggingface.co/x"))).toBe(false);
    const other = new URL("https://example.com/x");
    expect(mayCarryToken(other, new URL("https://huggingface.co/x"))).toBe(false);
  });
});

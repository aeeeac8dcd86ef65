import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeSource, KEYS_FILE, localKeys } from "./keys.ts";

const stateDir = () => mkdtempSync(join(tmpdir(), "ce-keys-"));

describe("localKeys", () => {
  it("generates keys once, stores them owner-only in the state folder, and returns the same ones next time", () => {
    const dir = stateDir();
    const first = localKeys(dir, {});
    expect(first.client).toMatch(/^ce_client_/);
    expect(first.agent).toMatch(/^ce_agent_/);
    expect(first.admin).toMatch(/^ce_admin_/);
    expect(first.sources.client).toEqual({ from: "generated", path: join(dir, KEYS_FILE) });
    expect(statSync(join(dir, KEYS_FILE)).mode & 0o777).toBe(0o600);
    const again = localKeys(dir, {});
    expect([again.client, again.agent, again.admin]).toEqual([first.client, first.agent, first.admin]);
    expect(again.sources.admin).toEqual({ from: "stored", path: join(dir, KEYS_FILE) });
  });

  it("prefers each environment variable, never writes it, and says where every key came from", () => {
    const dir = stateDir();
    const keys = localKeys(dir, { COMFY_EDGE_API_KEY: "my-own-client-key-0001" });
    expect(keys.client).toBe("my-own-client-key-0001");
    expect(keys.sources.client).toEqual({ from: "env", name: "COMFY_EDGE_API_KEY" });
    expect(keys.sources.agent.from).toBe("generated");
    expect(readFileSync(join(dir, KEYS_FILE), "utf8")).not.toContain("my-own-client-key-0001");
    expect(describeSource(keys.sources.client)).toBe("from COMFY_EDGE_API_KEY");
    expect(describeSource(keys.sources.agent)).toBe(`generated, stored in ${join(dir, KEYS_FILE)}`);
    // Unsetting the variable falls back to the stored key, the same on every run.
    const later = localKeys(dir, {});
    expect(later.client).toMatch(/^ce_client_/);
    expect(localKeys(dir, {}).client).toBe(later.client);
  });

  it("refuses a short key from the environment, naming the variable", () => {
    expect(() => localKeys(stateDir(), { COMFY_EDGE_ADMIN_KEY: "short" })).toThrow("COMFY_EDGE_ADMIN_KEY must be at least 16 characters");
  });
});

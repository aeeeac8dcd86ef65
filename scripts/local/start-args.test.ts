import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStartArgs } from "./start-args.ts";

const root = "/repo";

describe("parseStartArgs", () => {
  it("defaults: port 8787, the project's wrangler.toml, .wrangler/state", () => {
    expect(parseStartArgs([], {}, root)).toEqual({ ok: true, port: 8787, configPath: join(root, "wrangler.toml"), stateDir: join(root, ".wrangler/state") });
  });

  it("--port wins over PORT; PORT over the default; 0 means any free port", () => {
    expect(parseStartArgs(["--port", "9000"], { PORT: "9100" }, root)).toMatchObject({ ok: true, port: 9000 });
    expect(parseStartArgs(["--port=9001"], {}, root)).toMatchObject({ ok: true, port: 9001 });
    expect(parseStartArgs([], { PORT: "9100" }, root)).toMatchObject({ ok: true, port: 9100 });
    expect(parseStartArgs([], { PORT: "0" }, root)).toMatchObject({ ok: true, port: 0 });
  });

  it("takes --config and STATE_DIR as paths from the current folder", () => {
    expect(parseStartArgs(["--config", "other.toml"], { STATE_DIR: "st" }, root)).toMatchObject({ configPath: resolve("other.toml"), stateDir: resolve("st") });
  });

  it("refuses a bad port or an unknown option, naming it", () => {
    expect(parseStartArgs(["--port", "http"], {}, root)).toEqual({ ok: false, message: '--port must be a port number (0 picks a free one), got "http"' });
    expect(parseStartArgs([], { PORT: "70000" }, root)).toMatchObject({ ok: false, message: expect.stringContaining('PORT must be a port number') });
    const unknown = parseStartArgs(["--prot", "9000"], {}, root);
    expect(unknown.ok).toBe(false);
    expect(!unknown.ok && unknown.message).toContain("--prot");
  });
});

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { ASSETS_DIR, buildWebAssets } from "./build-web.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "web-assets-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("web assets build (playground and API reference)", () => {
  const names = buildWebAssets(out);
  const text = (name: string) => readFileSync(join(out, name), "utf8");

  it("writes both pages, their scripts and styles, and Swagger UI from the installed package", () => {
    for (const name of ["index.html", "docs.html", "static/playground.js", "static/playground.css", "static/docs.js", "static/swagger-ui/swagger-ui-bundle.js", "static/swagger-ui/swagger-ui.css"]) {
      expect(names).toContain(name);
      expect(existsSync(join(out, name)), name).toBe(true);
    }
    const shipped = readFileSync(join(root, "node_modules/swagger-ui-dist/swagger-ui-bundle.js"), "utf8");
    expect(shipped.startsWith(text("static/swagger-ui/swagger-ui-bundle.js").trimEnd())).toBe(true);
  });

  it("pages load scripts only by same-origin src: no inline script, no inline handler, no other origin", () => {
    for (const page of ["index.html", "docs.html"]) {
      const html = text(page);
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        expect(m[1], page).toMatch(/\bsrc="\/static\/[^"]+"/);
        expect(m[2]!.trim(), page).toBe("");
      }
      expect(html, page).not.toMatch(/\son[a-z]+\s*=/i);
      expect(html, page).not.toMatch(/(?:src|href)="(?:https?:)?\/\//i);
    }
    expect(text("static/docs.js")).toContain("/openapi.json");
  });

  it("bundles the playground without any package at runtime (types only from shared/)", () => {
    const js = text("static/playground.js");
    expect(js).toContain("comfy-edge.api-key");
    expect(js).not.toMatch(/\bzod\b|ZodError/);
  });

  it("rewrites nothing unchanged on a second build, and removes files no longer built", () => {
    const before = statSync(join(out, "static/playground.js")).mtimeMs;
    writeFileSync(join(out, "static/stale.js"), "old");
    buildWebAssets(out);
    expect(statSync(join(out, "static/playground.js")).mtimeMs).toBe(before);
    expect(existsSync(join(out, "static/stale.js"))).toBe(false);
  });

  it("builds into the directory wrangler.toml's [assets] names, served by the Worker first", () => {
    const config = parse(readFileSync(join(root, "wrangler.toml"), "utf8")) as { assets?: { directory?: string; binding?: string; run_worker_first?: boolean }; build?: { command?: string } };
    expect(resolve(root, config.assets?.directory ?? "")).toBe(ASSETS_DIR);
    expect(config.assets?.binding).toBe("ASSETS");
    expect(config.assets?.run_worker_first).toBe(true);
    expect(config.build?.command).toContain("scripts/build-web.ts");
  });
});

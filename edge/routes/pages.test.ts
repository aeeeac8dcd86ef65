import { describe, expect, it } from "vitest";
import { call } from "../test/http.ts";

/** Every <script> tag of a page: each must load a same-origin file (no inline code, no CDN). */
const scriptTags = (html: string) => [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => ({ tag: m[0], body: m[1] ?? "" }));

describe("pages and their static assets (Workers Static Assets through the Worker)", () => {
  it("serves the playground at / with only same-origin scripts and no inline handlers", async () => {
    const res = await call("GET", "/", "none");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('id="job-form"');
    const scripts = scriptTags(html);
    expect(scripts.map((s) => s.tag)).toEqual(['<script type="module" src="/static/playground.js"></script>']);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("serves /docs as Swagger UI from this origin, started by a same-origin script on /openapi.json", async () => {
    const res = await call("GET", "/docs", "none");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    const srcs = scriptTags(html).map((s) => (s.body.trim() === "" ? /src="([^"]+)"/.exec(s.tag)?.[1] : "inline"));
    expect(srcs).toEqual(["/static/swagger-ui/swagger-ui-bundle.js", "/static/docs.js"]);
    expect(html).not.toMatch(/https?:\/\//);
    const init = await call("GET", "/static/docs.js", "none");
    expect(init.headers.get("content-type")).toMatch(/javascript/);
    expect(await init.text()).toContain("/openapi.json");
    const ui = await call("GET", "/static/swagger-ui/swagger-ui-bundle.js", "none");
    expect(ui.status).toBe(200);
    expect(ui.headers.get("content-type")).toMatch(/javascript/);
    expect((await ui.text()).length).toBeGreaterThan(100_000);
  });

  it("serves the playground's script and stylesheet with their types and nosniff, revalidating by ETag", async () => {
    const js = await call("GET", "/static/playground.js", "none");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    // Served through the Worker (run_worker_first), so the assets get the API's headers too.
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await js.text()).toContain("comfy-edge.api-key");
    const css = await call("GET", "/static/playground.css", "none");
    expect(css.headers.get("content-type")).toContain("text/css");
    const etag = css.headers.get("etag");
    await css.text();
    expect(etag).toBeTruthy();
    const again = await call("GET", "/static/playground.css", "none", undefined, { "if-none-match": etag! });
    expect(again.status).toBe(304);
    await again.body?.cancel();
  });

  it("answers a missing static file with the API's JSON 404", async () => {
    for (const path of ["/static/nope.js", "/static/../wrangler.toml", "/index.html.bak"]) {
      const res = await call("GET", path, "none");
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});

import { describe, expect, it } from "vitest";
import { call, submit } from "../test/http.ts";

function cspDirectives(res: Response): Map<string, string> {
  const csp = res.headers.get("content-security-policy") ?? "";
  return new Map(csp.split(";").map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0]!, d.slice(d.indexOf(" ") + 1)]));
}

describe("security headers", () => {
  it("puts nosniff on every response: JSON, errors, not-found, text, SSE", async () => {
    const { body } = await submit({ prompt: "headers" });
    const responses = [
      await call("GET", "/ping", "none"),
      await call("GET", "/health", "none"),
      await call("GET", "/openapi.json", "none"),
      await call("GET", "/nowhere", "none"),
      await call("GET", "/tasks/x", "none"),
      await call("POST", "/v1/jobs", "alice", "{"),
      await call("GET", "/metrics", "admin"),
      await call("GET", `/tasks/${body.task_id}/events`, "alice", undefined, { accept: "text/event-stream" }),
    ];
    for (const res of responses) {
      expect(res.headers.get("x-content-type-options"), res.url).toBe("nosniff");
      await res.body?.cancel();
    }
    await call("DELETE", `/tasks/${body.task_id}`, "alice");
  });

  it("gives HTML pages a CSP with same-origin scripts only, no framing, and no referrer", async () => {
    for (const path of ["/docs", "/"]) {
      const res = await call("GET", path, "none");
      if (!(res.headers.get("content-type") ?? "").startsWith("text/html")) continue;
      const csp = cspDirectives(res);
      expect(csp.get("script-src"), path).toBe("'self'");
      expect(csp.get("frame-ancestors"), path).toBe("'none'");
      expect(csp.get("default-src"), path).toBe("'self'");
      expect(csp.get("style-src"), path).toBe("'self' 'unsafe-inline'");
      expect(res.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
    }
    const docs = await call("GET", "/docs", "none");
    expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("does not put a page CSP on JSON", async () => {
    const res = await call("GET", "/ping", "none");
    expect(res.headers.get("content-security-policy")).toBeNull();
  });
});

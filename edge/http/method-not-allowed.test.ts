import { describe, expect, it } from "vitest";
import { ROUTES } from "../app.ts";
import { call } from "../test/http.ts";
import { allowedMethods } from "./method-not-allowed.ts";

type Json = Record<string, any>;

describe("a known path with the wrong method", () => {
  it("GET /generate is 405 with Allow: POST, and so is every other POST-only route", async () => {
    const postOnly = [...new Set(ROUTES.filter((r) => r.method === "POST").map((r) => r.path))].filter(
      (path) => !ROUTES.some((r) => r.path === path && r.method !== "POST"),
    );
    expect(postOnly).toEqual(expect.arrayContaining(["/generate", "/v1/uploads"]));
    for (const path of postOnly) {
      const concrete = path.replace(/:[a-z_]+/g, "agt_x");
      const res = await call("GET", concrete);
      expect(res.status, concrete).toBe(405);
      expect(res.headers.get("allow"), concrete).toBe("POST");
      const err = ((await res.json()) as Json).error;
      expect(err.code).toBe("method_not_allowed");
      expect(err.message).toContain("accepts POST");
    }
  });

  it("names every method a path accepts (GET brings HEAD); an unknown path stays 404", async () => {
    const res = await call("PUT", "/tasks/tsk_abc.default");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, DELETE");
    expect((await call("GET", "/no/such/route")).status).toBe(404);
    expect(allowedMethods(ROUTES, "/files/a/b.png")).toEqual(["GET", "HEAD"]);
    expect(allowedMethods(ROUTES, "/tasks/x/events/more")).toEqual([]);
  });
});

describe("parameters at the top level of a submit body", () => {
  it("points at params.<name> instead of a bare unknown field", async () => {
    const res = await call("POST", "/generate", "alice", { workflow_id: "sd15_basic", prompt: "a cat", steps: 4 });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as Json).error;
    expect(err.code).toBe("invalid_body");
    expect(err.message).toContain("did you mean params.prompt, params.steps?");
    expect(err.details).toEqual([
      { path: "prompt", rule: "unknown", message: "unknown field; did you mean params.prompt?" },
      { path: "steps", rule: "unknown", message: "unknown field; did you mean params.steps?" },
    ]);
  });

  it("leaves other unknown fields to the schema's message", async () => {
    const res = await call("POST", "/v1/jobs", "alice", { workflow_id: "sd15_basic", params: { prompt: "a cat" }, colour: "red" });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as Json).error;
    expect(err.details).toEqual([expect.objectContaining({ rule: "unknown", message: expect.stringContaining("colour") })]);
    expect(err.message).not.toContain("did you mean");
  });
});

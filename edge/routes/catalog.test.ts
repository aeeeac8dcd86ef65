import { describe, expect, it } from "vitest";
import { call } from "../test/http.ts";

type Json = Record<string, any>;

describe("catalog and service routes", () => {
  it("lists workflows with descriptions", async () => {
    const body = (await (await call("GET", "/workflows")).json()) as Json;
    const ids = body.workflows.map((w: Json) => w.id);
    expect(ids).toEqual(expect.arrayContaining(["flux_default", "sd15_basic", "sd15_img2img"]));
    expect(body.workflows.find((w: Json) => w.id === "flux_default").description).toContain("Flux");
  });

  it("describes one workflow's parameters: type, default, limits, choices, required", async () => {
    const body = (await (await call("GET", "/workflows/flux_default")).json()) as Json;
    const byName = Object.fromEntries(body.parameters.map((p: Json) => [p.name, p]));
    expect(byName.prompt).toMatchObject({ type: "string", required: true });
    expect(byName.steps).toMatchObject({ type: "integer", min: 1, max: 100 });
    expect(byName.lora.choices).toContain("None");
    expect(byName.FBC_optimize.type).toBe("boolean");
    expect((await call("GET", "/workflows/nope")).status).toBe(404);
  });

  it("lists LoRAs in the original's shape", async () => {
    const body = (await (await call("GET", "/loras")).json()) as Json[];
    const ghibli = body.find((l) => l.name === "Flux-Ghibli-Art-LoRA.safetensors")!;
    expect(ghibli).toMatchObject({ prefix: "Ghibli Art", description: expect.stringContaining("Ghibli") });
    expect(ghibli).toHaveProperty("suffix");
    expect(ghibli).toHaveProperty("examples");
  });

  it("answers /ping and /health without a key", async () => {
    expect(await (await call("GET", "/ping", "none")).json()).toEqual({ message: "pong" });
    const health = (await (await call("GET", "/health", "none")).json()) as Json;
    expect(health).toMatchObject({ status: "ok", pools: expect.arrayContaining(["default"]) });
  });

  it("serves an OpenAPI 3.1 document of every route, generated from the schemas, and the /docs page", async () => {
    const doc = (await (await call("GET", "/openapi.json", "none")).json()) as Json;
    expect(doc.openapi).toBe("3.1.0");
    for (const p of ["/v1/jobs", "/generate", "/tasks/{id}", "/tasks/{id}/events", "/workflows/{id}", "/files/{key}", "/agent/connect"]) expect(doc.paths).toHaveProperty(p);
    const body = doc.paths["/v1/jobs"].post.requestBody.content["application/json"].schema;
    expect(body.properties.workflow_id.type).toBe("string");
    expect(body.additionalProperties).toBe(false);
    const docs = await call("GET", "/docs", "none");
    expect(docs.headers.get("content-type")).toContain("text/html");
    expect(await docs.text()).toContain("/openapi.json");
  });

  it("answers an unknown route with the JSON error shape", async () => {
    const res = await call("GET", "/nope", "none");
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.code).toBe("not_found");
  });
});

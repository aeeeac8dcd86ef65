import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

type Json = Record<string, any>;

describe("/openapi.json documents the job I/O", () => {
  it("the submit body (count, previews), both 202 shapes, Prefer: wait's 200, the job list, batches and the feed's preview events", async () => {
    const doc = (await (await SELF.fetch("http://edge.test/openapi.json")).json()) as Json;
    const submit = doc.paths["/v1/jobs"].post;
    const body = submit.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["count", "previews", "params"]));
    const accepted = JSON.stringify(submit.responses["202"].content["application/json"].schema);
    expect(accepted).toContain("batch_id");
    expect(accepted).toContain("task_ids");
    expect(JSON.stringify(submit.responses["200"].content["application/json"].schema)).toContain("result");
    expect(doc.paths["/v1/jobs"].get.responses["200"].content["application/json"].schema.properties).toHaveProperty("next_cursor");
    expect(doc.paths["/v1/batches/{id}"].get).toBeDefined();
    expect(doc.paths["/v1/batches/{id}"].delete).toBeDefined();
    const feed = JSON.stringify(doc.paths["/tasks/{id}/events"].get.responses["200"].content["text/event-stream"].schema);
    expect(feed).toContain('"preview"');
    const output = JSON.stringify(doc.paths["/tasks/{id}"].get.responses["200"].content["application/json"].schema);
    for (const field of ["sha256", "width", "height", "node_title", "batch_id"]) expect(output).toContain(field);
  });
});

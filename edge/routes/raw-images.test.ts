import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { RAW_KEY, TEST_KEYS } from "../test/bindings.ts";
import { call } from "../test/http.ts";

type Json = Record<string, any>;

/** Every task a test made: cancelled after it, so no later file finds them queued. */
const made: string[] = [];
afterEach(async () => {
  while (made.length) await (await call("DELETE", `/tasks/${made.pop()!}`, "admin")).body?.cancel();
});

/** POST /v1/jobs with a body sent as given (text, so any JSON value or nesting), under an Idempotency-Key. */
async function submit(text: string, key = RAW_KEY, idem = `idem-${crypto.randomUUID()}`): Promise<{ status: number; json: Json }> {
  const res = await SELF.fetch("http://edge.test/v1/jobs", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": idem },
    body: text,
  });
  const json = (await res.json()) as Json;
  if (res.status === 202 && typeof json.task_id === "string") made.push(json.task_id);
  for (const t of Array.isArray(json.task_ids) ? (json.task_ids as string[]) : []) made.push(t);
  return { status: res.status, json };
}

/** `depth` nested objects (`{"url":{"url":…}}`) or arrays around `inner`, as JSON text. */
const nested = (depth: number, inner = '"x"', array = false): string => (array ? "[".repeat(depth) + inner + "]".repeat(depth) : '{"url":'.repeat(depth) + inner + "}".repeat(depth));

const GRAPH = JSON.stringify({
  "10": { class_type: "LoadImage", inputs: { image: "in.png" } },
  "9": { class_type: "SaveImage", inputs: { filename_prefix: "raw", images: ["10", 0] } },
});

const fieldsOf = (json: Json): { path: string; rule: string }[] => (json.error?.details ?? []).map((d: Json) => ({ path: d.path, rule: d.rule }));

describe("raw graph images under an Idempotency-Key", () => {
  it.each([
    ["a deeply nested object", nested(20_000)],
    ["a deeply nested array", nested(20_000, '"x"', true)],
  ])("answers 400 naming images.10 for %s, not 500", async (_, value) => {
    const { status, json } = await submit(`{"graph":${GRAPH},"images":{"10":${value}}}`);
    expect(status).toBe(400);
    expect(json.error.code).toBe("invalid_body");
    expect(fieldsOf(json)).toEqual([{ path: "images.10", rule: "format" }]);
  });

  it("answers 400 naming images.10 for a malformed value (a huge array), not 500", async () => {
    const { status, json } = await submit(`{"graph":${GRAPH},"images":{"10":[${Array(100_000).fill("1").join(",")}]}}`);
    expect(status).toBe(400);
    expect(fieldsOf(json)).toEqual([{ path: "images.10", rule: "format" }]);
  });

  it("answers 400 naming images for too many entries, one deeply nested", async () => {
    const entries = Array.from({ length: 17 }, (_, i) => `"n${i}":${i === 0 ? nested(15_000) : '"upl_x"'}`).join(",");
    const { status, json } = await submit(`{"graph":${GRAPH},"images":{${entries}}}`);
    expect(status).toBe(400);
    expect(fieldsOf(json)).toEqual([{ path: "images", rule: "max_items" }]);
  });
});

describe("odd submit bodies under an Idempotency-Key", () => {
  it.each([
    ["params nested deep", `{"workflow_id":"sd15_basic","params":{"prompt":${nested(20_000)}}}`],
    ["an unknown param nested deep", `{"workflow_id":"sd15_basic","params":{"x":${nested(20_000, '"x"', true)}}}`],
    ["a batch with params nested deep", `{"workflow_id":"sd15_basic","count":3,"params":{"prompt":"a","negative":${nested(20_000)}}}`],
    ["a batch with a huge array param", `{"workflow_id":"sd15_basic","count":3,"params":{"prompt":[${Array(100_000).fill("1").join(",")}]}}`],
    ["images nested deep beside a workflow", `{"workflow_id":"sd15_basic","params":{"prompt":"a"},"images":{"10":${nested(20_000)}}}`],
    ["a graph nested deep", `{"graph":{"1":{"class_type":"SaveImage","inputs":{"x":${nested(20_000)}}}}}`],
    ["an array body", `[${nested(20_000, "1", true)}]`],
    ["a string body", `"just a string"`],
    ["a null body", "null"],
  ])("answers 4xx for %s, not 500", async (_, text) => {
    const { status, json } = await submit(text, TEST_KEYS.alice);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(typeof json.error?.code).toBe("string");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEdge, type LocalEdge } from "../scripts/local/edge.ts";
import { gradientPng } from "../clients/testing/png.ts";

const keys = {
  client: "limits-client-key-0000001",
  agent: "limits-agent-key-00000001",
  admin: "limits-admin-key-00000001",
  others: { rater: "limits-rater-key-00000001", filler: "limits-filler-key-0000001", other: "limits-other-key-00000001" },
};
let edge: LocalEdge;

beforeAll(async () => {
  edge = await startLocalEdge({
    keys,
    vars: { RATE_LIMIT_PER_MIN: "5", MAX_UPLOAD_BYTES: "2048", MAX_BODY_BYTES: "8192", MAX_QUEUE_DEPTH: "8", MAX_QUEUED_PER_KEY: "1000" },
  });
});
afterAll(async () => edge?.close());

const auth = (key = keys.client) => ({ authorization: `Bearer ${key}` });
const post = (body: unknown, key = keys.client) =>
  fetch(`${edge.url}/v1/jobs`, { method: "POST", headers: { ...auth(key), "content-type": "application/json" }, body: JSON.stringify(body) });
const code = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("limits, each with its own clear error", () => {
  it("refuses a body over MAX_BODY_BYTES with 413 body_too_large", async () => {
    const res = await post({ workflow_id: "sd15_basic", params: { prompt: "x".repeat(9000) } });
    expect(res.status).toBe(413);
    expect((await code(res)).code).toBe("body_too_large");
  });

  it("refuses a prompt over its max_length naming the field", async () => {
    const res = await post({ workflow_id: "sd15_basic", params: { prompt: "y".repeat(4001) } });
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; details: { path: string; rule: string }[] } };
    expect(err.error.code).toBe("invalid_params");
    expect(err.error.details).toContainEqual(expect.objectContaining({ path: "params.prompt", rule: "max_length" }));
  });

  it("refuses an upload over MAX_UPLOAD_BYTES with 413 and a non-image with 415", async () => {
    const big = await fetch(`${edge.url}/v1/uploads`, { method: "POST", headers: { ...auth(), "content-type": "image/png" }, body: new Uint8Array(4096) });
    expect(big.status).toBe(413);
    expect((await code(big)).code).toBe("body_too_large");
    const text = await fetch(`${edge.url}/v1/uploads`, { method: "POST", headers: { ...auth(), "content-type": "text/plain" }, body: "hello" });
    expect(text.status).toBe(415);
    // Bytes that are not the image they claim to be are refused too (the header is read at upload).
    const zeros = await fetch(`${edge.url}/v1/uploads`, { method: "POST", headers: { ...auth(), "content-type": "image/png" }, body: new Uint8Array(100) });
    expect(zeros.status).toBe(415);
    const ok = await fetch(`${edge.url}/v1/uploads`, { method: "POST", headers: { ...auth(), "content-type": "image/png" }, body: new Uint8Array(gradientPng(4, 4)) });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { upload_id: string }).upload_id).toMatch(/^upl_[0-9a-f]{24}$/);
  });

  it("rate-limits submissions per key with 429 rate_limited and Retry-After, other keys unaffected", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await post({ workflow_id: "sd15_basic", params: { prompt: `r${i}` } }, keys.others.rater);
      statuses.push(last.status);
      if (last.status === 429) break;
    }
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(5);
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await code(last!)).code).toBe("rate_limited");
    const other = await post({ workflow_id: "sd15_basic", params: { prompt: "other" } }, keys.others.other);
    expect(other.status).toBe(202);
  });

  it("caps the queue depth per pool with 429 queue_full", async () => {
    let last: Response | undefined;
    for (let i = 0; i < 10; i++) {
      last = await post({ workflow_id: "sd15_basic", params: { prompt: `q${i}` } }, keys.others.filler);
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    expect((await code(last!)).code).toBe("queue_full");
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { LISTER_KEY } from "../test/bindings.ts";
import { call } from "../test/http.ts";
import { drainDefaultPool, succeed } from "../test/queue-driver.ts";
import { ApiError } from "../../shared/errors.ts";
import { batchStatus, prepareItems } from "./batches.ts";
import { pngHeader } from "../test/png.ts";

type Json = Record<string, any>;
const as = { authorization: `Bearer ${LISTER_KEY}` };
const submit = async (extra: Json, headers: Record<string, string> = {}) => {
  const res = await call("POST", "/v1/jobs", "none", { workflow_id: "sd15_basic", params: { prompt: "a batch", seed: 41 }, priority: 100, ...extra }, { ...as, ...headers });
  return { res, body: (await res.json()) as Json };
};
const get = async (path: string, method = "GET") => {
  const res = await call(method, path, "none", undefined, as);
  return { res, body: (await res.json()) as Json };
};

describe("batches: count on a submit", () => {
  beforeEach(drainDefaultPool);

  it("makes N jobs with consecutive seeds under one batch id; GET /v1/batches/{id} shows each and the whole", async () => {
    const { res, body } = await submit({ count: 3 });
    expect(res.status).toBe(202);
    expect(body.batch_id).toMatch(/^bat_[0-9a-z]{20}\.default$/);
    expect(body.task_ids).toHaveLength(3);
    expect(body.seeds).toEqual([41, 42, 43]);
    for (const [i, id] of body.task_ids.entries()) {
      const task = (await get(`/tasks/${id}`)).body;
      expect(task).toMatchObject({ seed: 41 + i, batch_id: body.batch_id, status: "PENDING" });
    }
    const batch = await get(new URL(body.status_url).pathname);
    expect(batch.res.status).toBe(200);
    expect(batch.body).toMatchObject({ batch_id: body.batch_id, status: "PENDING", counts: { PENDING: 3 } });
    expect(batch.body.tasks.map((t: Json) => t.task_id)).toEqual(body.task_ids);

    const a = await TestAgent.connect();
    a.hello({ capacity: 1 });
    await a.next("welcome");
    await succeed(a, await a.jobFor(body.task_ids[0]));
    a.close();
    expect((await get(`/v1/batches/${body.batch_id}`)).body).toMatchObject({ status: "PROGRESS", counts: { SUCCESS: 1 } });

    const cancelled = await get(`/v1/batches/${body.batch_id}`, "DELETE");
    expect(cancelled.res.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "PARTIAL", counts: { SUCCESS: 1, CANCELLED: 2 } });
  });

  it("an Idempotency-Key names the whole batch: a replay gets the same batch and jobs", async () => {
    const idem = { "idempotency-key": `batch-${crypto.randomUUID()}` };
    const a = await submit({ count: 2 }, idem);
    const b = await submit({ count: 2 }, idem);
    expect(b.res.status).toBe(202);
    expect(b.res.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body).toMatchObject({ batch_id: a.body.batch_id, task_ids: a.body.task_ids });
  });

  it("refuses a count outside 1-16 naming the field; another key cannot see the batch", async () => {
    const bad = await submit({ count: 17 });
    expect(bad.res.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain("count");
    const { body } = await submit({ count: 2 });
    expect((await call("GET", `/v1/batches/${body.batch_id}`, "bob")).status).toBe(404);
    expect((await call("GET", `/v1/batches/bat_aaaaaaaaaaaaaaaaaaaa.nopool`, "bob")).status).toBe(404);
  });

  it("counts each job against the per-key queue cap: a batch that would pass it is refused whole", async () => {
    // The test bindings cap each key at 100 queued jobs.
    for (let i = 0; i < 6; i++) expect((await submit({ count: 16 })).res.status).toBe(202);
    const over = await submit({ count: 16 });
    expect(over.res.status).toBe(429);
    expect(over.body.error.code).toBe("queue_full");
    const list = await get("/v1/jobs?status=PENDING&limit=100");
    expect(list.body.jobs).toHaveLength(96);
  });
});


describe("batches: an item that cannot be prepared", () => {
  beforeEach(drainDefaultPool);

  it("answers 400 naming the item and its field, and queues no job of the batch", async () => {
    const png = pngHeader(64, 64);
    const up = await call("POST", "/v1/uploads", "alice", png, { "content-type": "image/png", "content-length": String(png.byteLength) });
    const uploadId = ((await up.json()) as Json).upload_id as string;
    const listed = async () => ((await get("/v1/jobs?limit=100")).body.jobs as Json[]).map((j) => j.task_id as string);
    const before = await listed();
    // Another key's upload: the item's hold is refused.
    const { res, body } = await submit({ workflow_id: "sd15_img2img", count: 3, params: { prompt: "redraw", input_image: uploadId } }, { "idempotency-key": `batch-${crypto.randomUUID()}` });
    expect(res.status).toBe(400);
    expect(body.error.code).toBe("invalid_params");
    expect(body.error.message).toMatch(/^Batch item 0: /);
    expect(body.error.details).toEqual([expect.objectContaining({ path: "items.0.params.input_image", rule: "exists" })]);
    expect(await listed()).toEqual(before);
  });

  it("names item 3 when its preparation rejects, gives back items 0-2 and prepares none after it", async () => {
    const started: number[] = [];
    const released: number[] = [];
    const prepare = (fail: (i: number) => unknown) => async (i: number) => {
      started.push(i);
      if (i === 3) throw fail(i);
      return { value: i, release: async () => void released.push(i) };
    };
    const refused = await prepareItems(6, prepare(() => new ApiError("invalid_params", "seed out of range", [{ path: "params.seed", rule: "max", message: "at most 9" }]))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(400);
    expect((refused as ApiError).details).toEqual([{ path: "items.3.params.seed", rule: "max", message: "at most 9" }]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(released.sort()).toEqual([0, 1, 2]);

    started.length = 0;
    released.length = 0;
    // Not the request's fault: the error goes on unchanged (a 500), the earlier items' holds still given back.
    const broken = await prepareItems(6, prepare(() => new TypeError("graph is not serialisable"))).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(TypeError);
    expect((broken as Error).message).toBe("graph is not serialisable");
    expect(released.sort()).toEqual([0, 1, 2]);

    const all = await prepareItems(3, async (i) => ({ value: i * 10, release: async () => void released.push(100 + i) }));
    expect(all.value).toEqual([0, 10, 20]);
  });
});

describe("batchStatus", () => {
  const t = (status: string) => ({ status }) as never;
  it("adds up the jobs", () => {
    expect(batchStatus([t("PENDING"), t("PENDING")]).status).toBe("PENDING");
    expect(batchStatus([t("SUCCESS"), t("PENDING")]).status).toBe("PROGRESS");
    expect(batchStatus([t("SUCCESS"), t("SUCCESS")]).status).toBe("SUCCESS");
    expect(batchStatus([t("SUCCESS"), t("FAILURE")]).status).toBe("PARTIAL");
    expect(batchStatus([t("FAILURE"), t("CANCELLED")]).status).toBe("FAILURE");
    expect(batchStatus([t("CANCELLED"), t("CANCELLED")]).status).toBe("CANCELLED");
  });
});

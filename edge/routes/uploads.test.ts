import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobQueue } from "../queue/JobQueue.ts";
import { queueFor } from "../queue/stub.ts";
import { UploadDesk } from "../uploads/desk.ts";
import { uploadRegistry } from "../uploads/stub.ts";
import { call, type Who } from "../test/http.ts";
import { pngHeader } from "../test/png.ts";

type Json = Record<string, any>;


/** A baseline JPEG's first segments: SOI, a JFIF APP0, then SOF0 with the given size. */
function jpegHeader(width: number, height: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 255, width >> 8, width & 255, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Uint8Array.from([0xff, 0xd8, ...app0, ...sof, ...new Array(200).fill(0), 0xff, 0xd9]);
}

async function upload(bytes: Uint8Array, type = "image/png", who: Who = "alice") {
  const res = await call("POST", "/v1/uploads", who, bytes, { "content-type": type, "content-length": String(bytes.byteLength) });
  return { res, body: (await res.json()) as Json };
}

const img2img = (uploadId: string, params: Record<string, unknown> = {}, who: Who = "alice") =>
  call("POST", "/v1/jobs", who, { workflow_id: "sd15_img2img", params: { prompt: "redraw", input_image: uploadId, ...params } });

describe("POST /v1/uploads reads the image header before storing", () => {
  it("stores width and height with the upload and returns them", async () => {
    const { res, body } = await upload(pngHeader(640, 480));
    expect(res.status).toBe(201);
    expect(body).toMatchObject({ width: 640, height: 480, content_type: "image/png" });
    const head = await env.FILES.head(`in/${body.upload_id}`);
    expect(head?.customMetadata).toMatchObject({ owner: "alice", width: "640", height: "480" });
    const jpeg = await upload(jpegHeader(300, 200), "image/jpeg");
    expect(jpeg.res.status).toBe(201);
    expect(jpeg.body).toMatchObject({ width: 300, height: 200 });
  });

  it("refuses an image bomb over MAX_INPUT_PIXELS before storing a byte", async () => {
    const before = (await env.FILES.list({ prefix: "in/" })).objects.length;
    const { res, body } = await upload(pngHeader(12_000, 12_000));
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("image_too_large");
    expect(body.error.message).toContain("12000×12000");
    expect((await env.FILES.list({ prefix: "in/" })).objects.length).toBe(before);
  });

  it("refuses bytes that are not the type they claim, or no image at all", async () => {
    const asJpeg = await upload(pngHeader(64, 64), "image/jpeg");
    expect(asJpeg.res.status).toBe(415);
    expect(asJpeg.body.error.message).toMatch(/image\/png, not the image\/jpeg/);
    const text = await upload(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'></svg>".padEnd(300)), "image/png");
    expect(text.res.status).toBe(415);
  });

  it("enforces the workflow's pixel budget on the input image at submit", async () => {
    const big = await upload(pngHeader(2048, 2048));
    const over = await img2img(big.body.upload_id, { steps: 20 });
    expect(over.status).toBe(422);
    const err = ((await over.json()) as Json).error;
    expect(err.code).toBe("budget_exceeded");
    expect(err.message).toContain("2048*2048*20");
    const small = await upload(pngHeader(512, 512));
    const ok = await img2img(small.body.upload_id, { steps: 20 });
    expect(ok.status).toBe(202);
    await call("DELETE", `/tasks/${((await ok.json()) as Json).task_id}`, "alice");
  });

  it("refuses another key's upload at submit", async () => {
    const mine = await upload(pngHeader(64, 64), "image/png", "alice");
    const res = await img2img(mine.body.upload_id, {}, "bob");
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.details[0]).toMatchObject({ path: "params.input_image", rule: "exists" });
  });
});

describe("upload limits and retention", () => {
  const registry = () => uploadRegistry(env);

  it("limits each key's uploads by count and by bytes, and rate-limits them like submissions", async () => {
    await runInDurableObject(registry(), async (q: JobQueue, state) => {
      const now = Date.now();
      const desk = new UploadDesk(state.storage.sql, { ...q.config, MAX_UPLOADS_PER_KEY: 2, MAX_UPLOAD_BYTES_PER_KEY: 1000, RATE_LIMIT_PER_MIN: 100 }, env.FILES, () => {});
      const owner = `quota-${crypto.randomUUID()}`;
      expect(desk.reserve(`upl_q1${owner}`, owner, 400, now)).toMatchObject({ ok: true });
      expect(desk.reserve(`upl_q2${owner}`, owner, 700, now)).toMatchObject({ ok: false, code: "upload_quota_exceeded", message: expect.stringMatching(/1100 bytes/) });
      expect(desk.reserve(`upl_q3${owner}`, owner, 500, now)).toMatchObject({ ok: true });
      expect(desk.reserve(`upl_q4${owner}`, owner, 1, now)).toMatchObject({ ok: false, code: "upload_quota_exceeded", message: expect.stringMatching(/2 uploads/) });
      const slow = new UploadDesk(state.storage.sql, { ...q.config, RATE_LIMIT_PER_MIN: 2 }, env.FILES, () => {});
      const other = `rate-${crypto.randomUUID()}`;
      expect(slow.reserve(`upl_r1${other}`, other, 1, now)).toMatchObject({ ok: true });
      expect(slow.reserve(`upl_r2${other}`, other, 1, now)).toMatchObject({ ok: true });
      expect(slow.reserve(`upl_r3${other}`, other, 1, now)).toMatchObject({ ok: false, code: "rate_limited", retry_after_s: expect.any(Number) });
    });
  });

  it("deletes an unreferenced upload after its TTL; one two jobs hold stays until the later job expires", async () => {
    const ttlMs = (await runInDurableObject(registry(), (q: JobQueue) => q.config.UPLOAD_TTL_S)) * 1000;
    const lonely = (await upload(pngHeader(32, 32))).body.upload_id as string;
    const shared = (await upload(pngHeader(32, 32))).body.upload_id as string;
    const tasks: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await img2img(shared, { steps: 2 });
      expect(res.status).toBe(202);
      tasks.push(((await res.json()) as Json).task_id);
    }
    const afterTtl = Date.now() + ttlMs + 60_000;
    const sweep = () => runInDurableObject(registry(), (q: JobQueue) => q.inputUploads.sweep(afterTtl));
    const exists = async (id: string) => (await env.FILES.head(`in/${id}`)) !== null;

    await sweep();
    expect(await exists(lonely)).toBe(false);
    expect(await exists(shared)).toBe(true);

    // The first job ends and its retention runs out: the upload stays for the second.
    const expire = async (taskId: string) => {
      expect((await call("DELETE", `/tasks/${taskId}`, "alice")).status).toBe(200);
      await runInDurableObject(queueFor(env, "default"), async (q: JobQueue, state) => {
        state.storage.sql.exec(`UPDATE jobs SET expires_at = ? WHERE id = ?`, Date.now() - 1, taskId);
        await q.alarm();
      });
    };
    await expire(tasks[0]!);
    await sweep();
    expect(await exists(shared)).toBe(true);
    await expire(tasks[1]!);
    await sweep();
    expect(await exists(shared)).toBe(false);
    expect((await img2img(shared)).status).toBe(400);
  });
});

import { createHash } from "node:crypto";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, decodePng, FAST_AGENT, testKeys } from "./helpers.ts";

function png(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  img.data.fill(200);
  return PNG.sync.write(img);
}

describe("image inputs (img2img)", () => {
  let stack: Stack;
  let api: Api;
  beforeAll(async () => {
    stack = await startStack({ keys: testKeys("i2i"), agents: 1, sim: { stepMs: 2 }, agent: FAST_AGENT });
    api = new Api(stack.edge.url, stack.keys.client);
  });
  afterAll(async () => stack?.close());

  const upload = (bytes: Buffer, key = stack.keys.client) =>
    fetch(`${stack.edge.url}/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "image/png" }, body: new Uint8Array(bytes) });

  it("uploads an image, runs sd15_img2img on it, and the agent hands it to ComfyUI", async () => {
    const res = await upload(png(192, 128));
    expect(res.status).toBe(201);
    const { upload_id } = (await res.json()) as { upload_id: string };
    const { task_id } = await api.submit({ prompt: "repaint", input_image: upload_id, denoising_strength: 0.6, steps: 3 }, "sd15_img2img");
    const done = await api.waitFor(task_id);
    expect(done.status).toBe("SUCCESS");
    const output = done.result!.outputs[0]!;
    const out = await fetch(output.url);
    const bytes = new Uint8Array(await out.arrayBuffer());
    // The stand-in renders img2img at the input's size, as the real graph (no resize node) does.
    expect(decodePng(bytes)).toEqual({ width: 192, height: 128 });
    // What the edge learnt as it stored the output: its hash, size and dimensions, and the node that made it.
    expect(output).toMatchObject({ content_type: "image/png", bytes: bytes.length, width: 192, height: 128, sha256: createHash("sha256").update(bytes).digest("hex") });
    expect(output.node_title).toBe("Save Image");
    expect(stack.sims[0]!.stats().requests.some((r) => r.path === "/upload/image")).toBe(true);
  });

  it("refuses an upload id that does not exist or belongs to another key", async () => {
    const other = await upload(png(8, 8), stack.keys.others!.other!);
    const { upload_id } = (await other.json()) as { upload_id: string };
    for (const id of [upload_id, "upl_000000000000000000000000"]) {
      const res = await fetch(`${stack.edge.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
        body: JSON.stringify({ workflow_id: "sd15_img2img", params: { prompt: "x", input_image: id } }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { details: { path: string; rule: string }[] } };
      expect(body.error.details[0]).toMatchObject({ path: "params.input_image", rule: "exists" });
    }
  });
});

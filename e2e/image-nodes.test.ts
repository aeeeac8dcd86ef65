import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, FAST_AGENT, testKeys } from "./helpers.ts";

/** No-model graphs (as a real ComfyUI 0.3.64 ran them) through edge, agent and stand-in. */
describe("no-model image graphs over the real stack", () => {
  let stack: Stack;
  let api: Api;

  beforeAll(async () => {
    stack = await startStack({ keys: testKeys("imgnodes"), agents: 1, sim: { stepMs: 0 }, agent: FAST_AGENT });
    api = new Api(stack.edge.url, stack.keys.client);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  async function runGraph(graph: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const res = await fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
      body: JSON.stringify({ graph, ...extra }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await api.waitFor(task_id, undefined, 30_000);
    expect(task.status, JSON.stringify(task.error)).toBe("SUCCESS");
    return task;
  }

  it("EmptyImage → ImageInvert → SaveImage delivers every image of the batch, inverted", async () => {
    const task = await runGraph({
      "1": { class_type: "EmptyImage", inputs: { width: 48, height: 24, batch_size: 2, color: 0x000000 } },
      "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
      "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "stack_inv" } },
    });
    const outputs = task.result!.outputs;
    expect(outputs.length).toBe(2);
    for (const out of outputs) {
      expect(out).toMatchObject({ content_type: "image/png", node_id: "3", width: 48, height: 24 });
      const body = Buffer.from(await (await fetch(out.url)).arrayBuffer());
      const { data } = await sharp(body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect(data.every((v) => v === 255)).toBe(true);
    }
  });

  it("SaveAnimatedWEBP delivers one animated image/webp with a frame per image", async () => {
    const task = await runGraph({
      "1": { class_type: "EmptyImage", inputs: { width: 32, height: 16, batch_size: 1, color: 0xff0000 } },
      "2": { class_type: "EmptyImage", inputs: { width: 32, height: 16, batch_size: 1, color: 0x0000ff } },
      "3": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["2", 0] } },
      "4": { class_type: "RepeatImageBatch", inputs: { image: ["3", 0], amount: 3 } },
      "5": { class_type: "ImageBlur", inputs: { image: ["4", 0], blur_radius: 2, sigma: 1.0 } },
      "6": { class_type: "SaveAnimatedWEBP", inputs: { images: ["5", 0], filename_prefix: "stack_anim", fps: 10, lossless: true, quality: 80, method: "fastest" } },
    });
    const outputs = task.result!.outputs;
    expect(outputs.length).toBe(1);
    expect(outputs[0]).toMatchObject({ content_type: "image/webp", node_id: "6" });
    const body = Buffer.from(await (await fetch(outputs[0]!.url)).arrayBuffer());
    expect(await sharp(body).metadata()).toMatchObject({ format: "webp", pages: 6, width: 32, height: 16, delay: [100, 100, 100, 100, 100, 100] });
  });

  it("keeps an animated webp whole when the job asks for jpeg (a still re-encode would drop its frames)", async () => {
    const task = await runGraph({
      "1": { class_type: "EmptyImage", inputs: { width: 16, height: 16, batch_size: 1, color: 0x00ff00 } },
      "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
      "3": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["2", 0] } },
      "4": { class_type: "SaveAnimatedWEBP", inputs: { images: ["3", 0], filename_prefix: "stack_keep", fps: 6, lossless: false, quality: 80, method: "default" } },
    }, { output_format: "jpeg" });
    const [out] = task.result!.outputs;
    expect(out).toMatchObject({ content_type: "image/webp", node_id: "4" });
    const body = Buffer.from(await (await fetch(out!.url)).arrayBuffer());
    expect(await sharp(body).metadata()).toMatchObject({ format: "webp", pages: 2 });
  });

  it("SaveAnimatedPNG delivers one APNG with a frame per image, kept whole when the job asks for jpeg", async () => {
    const task = await runGraph({
      "1": { class_type: "EmptyImage", inputs: { width: 20, height: 12, batch_size: 1, color: 0xffffff } },
      "2": { class_type: "RepeatImageBatch", inputs: { image: ["1", 0], amount: 3 } },
      "3": { class_type: "ImageQuantize", inputs: { image: ["2", 0], colors: 4, dither: "none" } },
      "4": { class_type: "SaveAnimatedPNG", inputs: { images: ["3", 0], filename_prefix: "stack_apng", fps: 5, compress_level: 4 } },
    }, { output_format: "jpeg" });
    const [out, ...rest] = task.result!.outputs;
    expect(rest).toEqual([]);
    expect(out).toMatchObject({ content_type: "image/png", node_id: "4", width: 20, height: 12 });
    const body = Buffer.from(await (await fetch(out!.url)).arrayBuffer());
    // acTL (animation control) carries the frame count; a still re-encode would have dropped it.
    const actl = body.indexOf("acTL");
    expect(actl).toBeGreaterThan(0);
    expect(body.readUInt32BE(actl + 4)).toBe(3);
  });
});

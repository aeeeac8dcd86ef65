import { writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { emptyImage, rgbPixels, type Saved, saveImage, useImageSim } from "./image-testing.ts";
import { getJson, submit } from "./testing.ts";
import type { Graph } from "./validate.ts";

const imageSim = useImageSim();
const { run, view } = imageSim;
const pixels = rgbPixels;
const empty = emptyImage;
const save = saveImage;

/**
 * What ComfyUI saves for channel byte `c` after ImageInvert: float32 all the way, then
 * `np.clip(255 * x).astype(uint8)` truncates (so 0x99 comes out as 101, not 102).
 */
const invertedByte = (c: number): number => Math.trunc(Math.fround(255 * Math.fround(1 - Math.fround(c / 255))));

describe("no-model image graphs", () => {
  it("EmptyImage 64x32 batch 3 → ImageInvert → SaveImage writes 3 inverted PNGs with ComfyUI's counter names", async () => {
    const out = await run({
      "1": empty(64, 32, 3, 0x336699),
      "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
      "3": save("2", "inv"),
    });
    const images = out["3"]?.images as Saved[];
    expect(images.map((i) => i.filename)).toEqual(["inv_00001_.png", "inv_00002_.png", "inv_00003_.png"]);
    for (const img of images) {
      expect(img).toMatchObject({ subfolder: "", type: "output" });
      const { width, height, data } = await pixels(await view(img));
      expect([width, height]).toEqual([64, 32]);
      expect([...data.subarray(0, 3)]).toEqual([0x33, 0x66, 0x99].map(invertedByte));
      expect(data.every((v, n) => v === data[n % 3])).toBe(true);
    }
  });

  it("LoadImage → ImageScale to 32x32 (bilinear, center crop) saves the loaded picture, scaled", async () => {
    // Left half red, right half blue, 80x40: a centre crop to square keeps both colours.
    const raw = Buffer.alloc(80 * 40 * 3);
    for (let p = 0; p < 80 * 40; p++) raw.set((p % 80) < 40 ? [255, 0, 0] : [0, 0, 255], p * 3);
    writeFileSync(path.join(imageSim.sim.dirs.input, "halves.png"), await sharp(raw, { raw: { width: 80, height: 40, channels: 3 } }).png().toBuffer());
    const out = await run({
      "1": { class_type: "LoadImage", inputs: { image: "halves.png" } },
      "2": { class_type: "ImageScale", inputs: { image: ["1", 0], upscale_method: "bilinear", width: 32, height: 32, crop: "center" } },
      "3": save("2", "scaled"),
    });
    const { width, height, data } = await pixels(await view((out["3"]?.images as Saved[])[0] as Saved));
    expect([width, height]).toEqual([32, 32]);
    expect([...data.subarray(0, 3)]).toEqual([255, 0, 0]);
    expect([...data.subarray((31 * 32 + 31) * 3, (31 * 32 + 31) * 3 + 3)]).toEqual([0, 0, 255]);
  });

  it("LoadImage of an animated webp gives a batch of its frames, one PNG each", async () => {
    const frames = Buffer.alloc(10 * 8 * 3 * 3);
    for (let f = 0; f < 3; f++) frames.fill(f * 100, f * 240, (f + 1) * 240);
    const webp = await sharp(frames, { raw: { width: 10, height: 24, channels: 3, pageHeight: 8 } }).webp({ lossless: true, delay: [100, 100, 100] }).toBuffer();
    writeFileSync(path.join(imageSim.sim.dirs.input, "three.webp"), webp);
    const out = await run({ "1": { class_type: "LoadImage", inputs: { image: "three.webp" } }, "2": save("1", "frames") });
    const images = out["2"]?.images as Saved[];
    expect(images.length).toBe(3);
    const last = await pixels(await view(images[2] as Saved));
    expect([last.width, last.height, last.data[0]]).toEqual([10, 8, 200]);
  });

  it("a chain of ImageBlur softens a hard edge and keeps a flat border flat (reflect padding, as ComfyUI pads)", async () => {
    const out = await run({
      "1": empty(32, 16, 1, 0xffffff),
      "2": { class_type: "ImagePadForOutpaint", inputs: { image: ["1", 0], left: 0, top: 0, right: 32, bottom: 0, feathering: 0 } },
      "3": { class_type: "ImageBlur", inputs: { image: ["2", 0], blur_radius: 3, sigma: 1.0 } },
      "4": { class_type: "ImageBlur", inputs: { image: ["3", 0], blur_radius: 3, sigma: 1.0 } },
      "5": save("4", "blur"),
    });
    const { width, data } = await pixels(await view((out["5"]?.images as Saved[])[0] as Saved));
    expect(width).toBe(64);
    const at = (x: number, y: number): number => data[(y * 64 + x) * 3] as number;
    expect(at(10, 8)).toBe(255);
    expect(at(50, 8)).toBe(127);
    expect(at(31, 8)).toBeLessThan(255);
    expect(at(32, 8)).toBeGreaterThan(127);
    expect(at(10, 0)).toBe(255);
    expect(at(0, 0)).toBe(255);
  });

  it("RepeatImageBatch repeats the batch, ImageFromBatch picks from it, SaveImage writes one file per image", async () => {
    const out = await run({
      "1": empty(16, 16, 2, 0x102030),
      "2": { class_type: "RepeatImageBatch", inputs: { image: ["1", 0], amount: 3 } },
      "3": save("2", "rep"),
      "4": { class_type: "ImageFromBatch", inputs: { image: ["2", 0], batch_index: 4, length: 10 } },
      "5": save("4", "from"),
    });
    expect((out["3"]?.images as Saved[]).length).toBe(6);
    expect((out["5"]?.images as Saved[]).map((i) => i.filename)).toEqual(["from_00001_.png", "from_00002_.png"]);
  });

  it("ImageScaleBy, ImageCrop, ImageBatch and ImageBlend give ComfyUI's sizes", async () => {
    const out = await run({
      "1": empty(40, 30, 1, 0x808080),
      "2": { class_type: "ImageScaleBy", inputs: { image: ["1", 0], upscale_method: "nearest-exact", scale_by: 1.5 } },
      "3": { class_type: "ImageCrop", inputs: { image: ["2", 0], width: 100, height: 10, x: 50, y: 5 } },
      "4": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["2", 0] } },
      "5": { class_type: "ImageBlend", inputs: { image1: ["1", 0], image2: ["2", 0], blend_factor: 0.5, blend_mode: "screen" } },
      "6": save("3", "crop"),
      "7": save("4", "batch"),
      "8": save("5", "blend"),
    });
    const sizeOf = async (id: string, n = 0): Promise<number[]> => {
      const p = await pixels(await view((out[id]?.images as Saved[])[n] as Saved));
      return [p.width, p.height];
    };
    expect(await sizeOf("6")).toEqual([10, 10]);
    expect((out["7"]?.images as Saved[]).length).toBe(2);
    expect(await sizeOf("7", 1)).toEqual([40, 30]);
    expect(await sizeOf("8")).toEqual([40, 30]);
  });

  it("ImageSharpen, ImageBlend and ImageScaleToTotalPixels compute ComfyUI's values", async () => {
    const out = await run({
      "1": empty(32, 32, 1, 0x808080),
      "2": { class_type: "ImageSharpen", inputs: { image: ["1", 0], sharpen_radius: 1, sigma: 1.0, alpha: 1.0 } },
      "3": { class_type: "ImageBlend", inputs: { image1: ["1", 0], image2: ["1", 0], blend_factor: 0.5, blend_mode: "screen" } },
      "4": { class_type: "ImageScaleToTotalPixels", inputs: { image: ["1", 0], upscale_method: "area", megapixels: 0.01 } },
      "5": save("2", "sharp"),
      "6": save("3", "screen"),
      "7": save("4", "total"),
    });
    const first = async (id: string) => pixels(await view((out[id]?.images as Saved[])[0] as Saved));
    const sharpened = await first("5");
    // A flat image stays flat, corners too: reflect padding (float rounding may truncate to 127, as conv2d's may).
    expect(Math.abs((sharpened.data[(16 * 32 + 16) * 3] as number) - 128)).toBeLessThanOrEqual(1);
    expect(Math.abs((sharpened.data[0] as number) - 128)).toBeLessThanOrEqual(1);
    const x = 128 / 255;
    const screen = 1 - (1 - x) * (1 - x);
    expect(Math.abs(((await first("6")).data[0] as number) - 255 * (0.5 * x + 0.5 * screen))).toBeLessThanOrEqual(1);
    // int(0.01 * 1024 * 1024) = 10485 pixels: sqrt(10485 / 1024) * 32 rounds to 102.
    const total = await first("7");
    expect([total.width, total.height]).toEqual([102, 102]);
  });

  it("ImageSharpen is ComfyUI's unsharp kernel (Gaussian × -10α, centre raised to sum 1): an edge overshoots both ways; ImageBlend has difference", async () => {
    const out = await run({
      "1": empty(32, 8, 1, 0x404040),
      "2": { class_type: "ImagePadForOutpaint", inputs: { image: ["1", 0], left: 0, top: 0, right: 32, bottom: 0, feathering: 0 } },
      "3": { class_type: "ImageSharpen", inputs: { image: ["2", 0], sharpen_radius: 1, sigma: 1.0, alpha: 1.0 } },
      "4": { class_type: "ImageBlend", inputs: { image1: ["2", 0], image2: ["1", 0], blend_factor: 1.0, blend_mode: "difference" } },
      "5": save("3", "sharp_edge"),
      "6": save("4", "difference"),
    });
    const first = async (id: string) => pixels(await view((out[id]?.images as Saved[])[0] as Saved));
    const sharp = await first("5");
    const at = (x: number): number => sharp.data[(4 * 64 + x) * 3] as number;
    // 1-D weights e^-½, 1, e^-½ normalised: left of the edge 11·0.251 - 10·0.319 < 0, right of it 11·0.5 - 10·0.432 > 1.
    expect([at(31), at(32)]).toEqual([0, 255]);
    expect(Math.abs(at(10) - 64)).toBeLessThanOrEqual(1);
    expect(Math.abs(at(50) - 127)).toBeLessThanOrEqual(1);
    // image2 is scaled to image1's 64×8 first; x - y where they agree is 0, and a negative difference clamps to 0.
    const diff = await first("6");
    expect(diff.width).toBe(64);
    expect(diff.data[(4 * 64 + 2) * 3]).toBe(0);
  });

  it("SaveAnimatedWEBP writes ONE animated webp with a frame per image and answers animated: [true]", async () => {
    // Consecutive frames differ: libwebp's animation encoder merges identical neighbours into one longer frame.
    const out = await run({
      "1": empty(24, 20, 1, 0xff0000),
      "4": empty(24, 20, 1, 0x00ff00),
      "5": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["4", 0] } },
      "6": { class_type: "RepeatImageBatch", inputs: { image: ["5", 0], amount: 2 } },
      "2": { class_type: "ImageInvert", inputs: { image: ["6", 0] } },
      "3": { class_type: "SaveAnimatedWEBP", inputs: { images: ["2", 0], filename_prefix: "anim", fps: 8, lossless: true, quality: 80, method: "default" } },
    });
    expect(out["3"]).toEqual({ images: [{ filename: "anim_00001_.webp", subfolder: "", type: "output" }], animated: [true] });
    const file = await view((out["3"]?.images as Saved[])[0] as Saved);
    const meta = await sharp(file).metadata();
    expect(meta).toMatchObject({ format: "webp", pages: 4, width: 24, height: 20, delay: [125, 125, 125, 125] });
    const last = await sharp(file, { page: 3 }).removeAlpha().raw().toBuffer();
    expect([...last.subarray(0, 3)]).toEqual([255, 0, 255]);
  });

  it("SaveAnimatedWEBP of a single image is not animated, as ComfyUI's num_frames != 1 says", async () => {
    const out = await run({
      "1": empty(8, 8, 1, 0),
      "2": { class_type: "SaveAnimatedWEBP", inputs: { images: ["1", 0], filename_prefix: "still", fps: 6, lossless: false, quality: 80, method: "fastest" } },
    });
    expect(out["2"]?.animated).toEqual([false]);
  });
});

describe("image node failures", () => {
  /** The `execution_error` a graph ends with. */
  const failureOf = async (graph: Graph): Promise<unknown> => {
    const res = await submit(imageSim.sim, graph, imageSim.client.clientId);
    const id = res.body.prompt_id as string;
    await imageSim.client.finished(id);
    return (await imageSim.client.next("execution_error", (d) => d.prompt_id === id)).data;
  };

  it("a scale that rounds a side to 0 fails the node with torch's RuntimeError", async () => {
    const error = await failureOf({
      "1": empty(40, 30, 1, 0),
      "2": { class_type: "ImageScaleBy", inputs: { image: ["1", 0], upscale_method: "bilinear", scale_by: 0.01 } },
      "3": save("2", "never"),
    });
    expect(error).toMatchObject({
      node_id: "2", node_type: "ImageScaleBy", exception_type: "RuntimeError",
      exception_message: expect.stringContaining("Input and output sizes should be greater than 0, but got input (H: 30, W: 40) output (H: 0, W: 0)"),
    });
  });

  it("a blur radius not smaller than a side fails the node as torch's reflect padding does", async () => {
    const error = await failureOf({
      "1": empty(6, 4, 2, 0),
      "2": { class_type: "ImageBlur", inputs: { image: ["1", 0], blur_radius: 5, sigma: 1.0 } },
      "3": save("2", "never"),
    });
    expect(error).toMatchObject({
      node_id: "2", node_type: "ImageBlur", exception_type: "RuntimeError",
      exception_message: "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (5, 5) at dimension 2 of input [2, 3, 4, 6]\n",
    });
  });
});

describe("the image classes in /object_info and validation", () => {
  it("shows ComfyUI's ranges, categories and modules", async () => {
    const info = await getJson(imageSim.sim, "/object_info");
    expect((info.EmptyImage as { input: unknown }).input).toEqual({
      required: {
        width: ["INT", { default: 512, min: 1, max: 16384, step: 1 }],
        height: ["INT", { default: 512, min: 1, max: 16384, step: 1 }],
        batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
        color: ["INT", { default: 0, min: 0, max: 0xffffff, step: 1, display: "color" }],
      },
    });
    expect(info.ImageBlur).toMatchObject({
      input: { required: { blur_radius: ["INT", { default: 1, min: 1, max: 31, step: 1 }], sigma: ["FLOAT", { default: 1.0, min: 0.1, max: 10.0, step: 0.1 }] } },
      category: "image/postprocessing", python_module: "comfy_extras.nodes_post_processing", display_name: "Image Blur",
    });
    expect(info.ImageScale).toMatchObject({
      input: { required: { upscale_method: [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]], crop: [["disabled", "center"]] } },
      display_name: "Upscale Image", category: "image/upscaling", python_module: "nodes",
    });
    expect(info.SaveAnimatedWEBP).toMatchObject({
      input: { required: { fps: ["FLOAT", { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }], method: [["default", "fastest", "slowest"]] } },
      output: [], output_node: true, category: "image/animation", python_module: "comfy_extras.nodes_images",
    });
    expect(info.RepeatImageBatch).toMatchObject({ input: { required: { amount: ["INT", { default: 1, min: 1, max: 4096 }] } }, category: "image/batch" });
  });

  it("refuses out-of-range values with ComfyUI's value_smaller_than_min / value_bigger_than_max", async () => {
    const res = await submit(imageSim.sim, {
      "1": empty(0, 32, 1, 0),
      "2": { class_type: "ImageBlur", inputs: { image: ["1", 0], blur_radius: 40, sigma: 1.0 } },
      "3": save("2", "never"),
    });
    expect(res.status).toBe(400);
    const errors = res.body.node_errors as Record<string, { errors: unknown[]; class_type: string }>;
    expect(errors["1"]?.errors).toEqual([{
      type: "value_smaller_than_min", message: "Value 0 smaller than min of 1", details: "width",
      extra_info: { input_name: "width", input_config: ["INT", { default: 512, min: 1, max: 16384, step: 1 }], received_value: 0 },
    }]);
    expect(errors["2"]?.errors).toEqual([{
      type: "value_bigger_than_max", message: "Value 40 bigger than max of 31", details: "blur_radius",
      extra_info: { input_name: "blur_radius", input_config: ["INT", { default: 1, min: 1, max: 31, step: 1 }], received_value: 40 },
    }]);
  });
});

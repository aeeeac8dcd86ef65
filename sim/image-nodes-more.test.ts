import { writeFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
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

async function savedPixels(out: Record<string, Record<string, unknown>>, node: string, index = 0) {
  return pixels(await view((out[node]?.images as Saved[])[index] as Saved));
}

const rgbAt = (p: { width: number; data: Buffer }, x: number, y: number) => [...p.data.subarray((y * p.width + x) * 3, (y * p.width + x) * 3 + 3)];
const distinct = (data: Buffer) => new Set(Array.from({ length: data.length / 3 }, (_, i) => data.readUIntBE(i * 3, 3))).size;

/** A 64x48 gradient (red across, green down, blue fixed): thousands of colours. */
async function writeGradient(name: string): Promise<void> {
  const raw = Buffer.alloc(64 * 48 * 3);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) raw.set([x * 4, y * 5, 90], (y * 64 + x) * 3);
  writeFileSync(path.join(imageSim.sim.dirs.input, name), await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer());
}

describe("ImageQuantize", () => {
  it("keeps at most `colors` colours, and dithered pictures keep local averages nearer the source's", async () => {
    await writeGradient("gradient.png");
    const quantize = (dither: string): Graph[string] => ({ class_type: "ImageQuantize", inputs: { image: ["1", 0], colors: 6, dither } });
    const out = await run({
      "1": { class_type: "LoadImage", inputs: { image: "gradient.png" } },
      "2": quantize("none"), "3": quantize("floyd-steinberg"), "4": quantize("bayer-4"),
      "5": save("2", "q_none"), "6": save("3", "q_fs"), "7": save("4", "q_bayer"),
      "8": save("1", "q_source"),
    });
    const source = await savedPixels(out, "8");
    const results = await Promise.all(["5", "6", "7"].map((n) => savedPixels(out, n)));
    for (const q of results) {
      expect([q.width, q.height]).toEqual([64, 48]);
      expect(distinct(q.data)).toBeGreaterThan(1);
      expect(distinct(q.data)).toBeLessThanOrEqual(6);
    }
    const [none, fs, bayer] = results as [typeof source, typeof source, typeof source];
    expect(none.data.equals(fs.data)).toBe(false);
    expect(none.data.equals(bayer.data)).toBe(false);
    // Dithering trades exact colours for local averages: 8x8 blocks come out nearer the source's.
    const blockError = (q: typeof source) => {
      let sum = 0;
      for (let by = 0; by < 48; by += 8) {
        for (let bx = 0; bx < 64; bx += 8) {
          for (let c = 0; c < 2; c++) {
            let d = 0;
            for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) d += q.data[(y * 64 + x) * 3 + c]! - source.data[(y * 64 + x) * 3 + c]!;
            sum += Math.abs(d / 64);
          }
        }
      }
      return sum;
    };
    expect(blockError(fs)).toBeLessThan(blockError(none));
    expect(blockError(bayer)).toBeLessThan(blockError(none));
    // Every palette colour is one the picture could have had (blue never moves off 90).
    for (let i = 0; i < none.data.length; i += 3) expect(none.data[i + 2]).toBe(90);
  });

  it("a picture with no more colours than asked comes back unchanged", async () => {
    const out = await run({
      "1": empty(16, 8, 1, 0x336699),
      "2": empty(16, 8, 1, 0xcc9933),
      "3": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["2", 0] } },
      "4": { class_type: "ImageStitch", inputs: { image1: ["1", 0], image2: ["2", 0], direction: "right", match_image_size: false, spacing_width: 0, spacing_color: "white" } },
      "5": { class_type: "ImageQuantize", inputs: { image: ["4", 0], colors: 2, dither: "floyd-steinberg" } },
      "6": save("5", "two"),
    });
    const q = await savedPixels(out, "6");
    expect(rgbAt(q, 0, 0)).toEqual([0x33, 0x66, 0x99]);
    expect(rgbAt(q, 31, 7)).toEqual([0xcc, 0x99, 0x33]);
    expect(distinct(q.data)).toBe(2);
  });

  it("refuses colors outside 1-256 and an unknown dither as ComfyUI validates", async () => {
    const res = await submit(imageSim.sim, {
      "1": empty(8, 8, 1, 0),
      "2": { class_type: "ImageQuantize", inputs: { image: ["1", 0], colors: 300, dither: "bayer-3" } },
      "3": save("2", "never"),
    });
    expect(res.status).toBe(400);
    const errors = (res.body.node_errors as Record<string, { errors: { type: string; details: string }[] }>)["2"]?.errors ?? [];
    expect(errors.map((e) => [e.type, e.details.split(":")[0]])).toEqual(expect.arrayContaining([["value_bigger_than_max", "colors"], ["value_not_in_list", "dither"]]));
  });
});

describe("ImageStitch", () => {
  it("joins image2 to the right with an even gap of the asked colour, centring the shorter one on white", async () => {
    const out = await run({
      "1": empty(20, 10, 1, 0xff0000),
      "2": empty(10, 6, 1, 0x0000ff),
      "3": { class_type: "ImageStitch", inputs: { image1: ["1", 0], image2: ["2", 0], direction: "right", match_image_size: false, spacing_width: 3, spacing_color: "green" } },
      "4": save("3", "stitched"),
    });
    const p = await savedPixels(out, "4");
    // 20 + a gap of 4 (3 made even) + 10; image2 centred on a white band 10 high (2 rows above, 2 below).
    expect([p.width, p.height]).toEqual([34, 10]);
    expect(rgbAt(p, 0, 0)).toEqual([255, 0, 0]);
    expect(rgbAt(p, 21, 5)).toEqual([0, 255, 0]);
    expect(rgbAt(p, 24, 0)).toEqual([0, 0, 0]);
    expect(rgbAt(p, 24, 2)).toEqual([0, 0, 255]);
    expect(rgbAt(p, 33, 9)).toEqual([0, 0, 0]);
  });

  it("up with match_image_size scales image2 to image1's width and puts it on top; batches repeat the last image", async () => {
    const out = await run({
      "1": empty(30, 10, 1, 0xff0000),
      "2": empty(10, 5, 3, 0x00ff00),
      "3": { class_type: "ImageStitch", inputs: { image1: ["1", 0], image2: ["2", 0], direction: "up", match_image_size: true, spacing_width: 0, spacing_color: "white" } },
      "4": save("3", "stacked"),
    });
    const images = out["4"]?.images as Saved[];
    expect(images).toHaveLength(3);
    const p = await savedPixels(out, "4", 2);
    // int(30 / (10 / 5)) = 15 rows of green over image1's 10.
    expect([p.width, p.height]).toEqual([30, 25]);
    expect(rgbAt(p, 29, 0)).toEqual([0, 255, 0]);
    expect(rgbAt(p, 0, 24)).toEqual([255, 0, 0]);
  });

  it("without image2 returns image1 as is", async () => {
    const out = await run({
      "1": empty(12, 12, 1, 0x123456),
      "2": { class_type: "ImageStitch", inputs: { image1: ["1", 0], direction: "left", match_image_size: true, spacing_width: 8, spacing_color: "red" } },
      "3": save("2", "alone"),
    });
    const p = await savedPixels(out, "3");
    expect([p.width, p.height]).toEqual([12, 12]);
    expect(distinct(p.data)).toBe(1);
  });
});

/** The chunks of a PNG file, in order. */
function chunks(png: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    out.push({ type: png.toString("latin1", at + 4, at + 8), data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

describe("SaveAnimatedPNG", () => {
  it("writes ONE animated PNG: a frame per image, int(1000 / fps) ms each, the prompt in comf chunks; animated: [true]", async () => {
    const out = await run({
      "1": empty(12, 8, 1, 0xff0000),
      "2": empty(12, 8, 1, 0x00ff00),
      "3": { class_type: "ImageBatch", inputs: { image1: ["1", 0], image2: ["2", 0] } },
      "4": { class_type: "ImageBatch", inputs: { image1: ["3", 0], image2: ["1", 0] } },
      "5": { class_type: "SaveAnimatedPNG", inputs: { images: ["4", 0], filename_prefix: "apng", fps: 3, compress_level: 9 } },
    }, { extra_data: { extra_pnginfo: { workflow: { note: "café" } } } });
    expect(out["5"]).toEqual({ images: [{ filename: "apng_00001_.png", subfolder: "", type: "output" }], animated: [true] });
    const file = await view((out["5"]?.images as Saved[])[0] as Saved);
    const parts = chunks(file);
    expect(parts.map((c) => c.type)).toEqual(["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "comf", "comf", "IEND"]);
    expect(parts[1]!.data.readUInt32BE(0)).toBe(3);
    for (const fctl of parts.filter((c) => c.type === "fcTL")) expect([fctl.data.readUInt16BE(20), fctl.data.readUInt16BE(22)]).toEqual([333, 1000]);
    const frameBytes = parts.filter((c) => c.type === "IDAT" || c.type === "fdAT").map((c) => zlib.inflateSync(c.type === "IDAT" ? c.data : c.data.subarray(4)));
    expect(frameBytes.map((raw) => [...raw.subarray(1, 4)])).toEqual([[255, 0, 0], [0, 255, 0], [255, 0, 0]]);
    const comf = parts.filter((c) => c.type === "comf").map((c) => c.data.toString("latin1"));
    expect(comf[0]).toMatch(/^prompt\0\{/);
    expect(comf[1]).toBe('workflow\0{"note":"caf\\u00e9"}');
    // Plain PNG readers see the first frame.
    const first = await pixels(file);
    expect([first.width, first.height, ...rgbAt(first, 0, 0)]).toEqual([12, 8, 255, 0, 0]);
  });

  it("a single image is still one APNG, and ComfyUI still says animated: [true]", async () => {
    const out = await run({ "1": empty(4, 4, 1, 0), "2": { class_type: "SaveAnimatedPNG", inputs: { images: ["1", 0], filename_prefix: "one", fps: 6, compress_level: 0 } } });
    expect(out["2"]?.animated).toEqual([true]);
    const parts = chunks(await view((out["2"]?.images as Saved[])[0] as Saved));
    expect(parts[1]).toMatchObject({ type: "acTL" });
    expect(parts[1]!.data.readUInt32BE(0)).toBe(1);
  });
});

describe("the new classes in /object_info", () => {
  it("show ComfyUI's inputs, ranges, categories and modules", async () => {
    const info = await getJson(imageSim.sim, "/object_info");
    expect(info.ImageQuantize).toMatchObject({
      input: { required: { image: ["IMAGE"], colors: ["INT", { default: 256, min: 1, max: 256, step: 1 }], dither: [["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"]] } },
      output: ["IMAGE"], category: "image/postprocessing", python_module: "comfy_extras.nodes_post_processing", display_name: "Image Quantize",
    });
    expect(info.ImageStitch).toMatchObject({
      input: {
        required: {
          image1: ["IMAGE"], direction: [["right", "down", "left", "up"], { default: "right" }], match_image_size: ["BOOLEAN", { default: true }],
          spacing_width: ["INT", { default: 0, min: 0, max: 1024, step: 2 }], spacing_color: [["white", "black", "red", "green", "blue"], { default: "white" }],
        },
        optional: { image2: ["IMAGE"] },
      },
      category: "image/transform", python_module: "comfy_extras.nodes_images", display_name: "Image Stitch",
    });
    expect(info.SaveAnimatedPNG).toMatchObject({
      input: { required: { fps: ["FLOAT", { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }], compress_level: ["INT", { default: 4, min: 0, max: 9 }] }, hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" } },
      output: [], output_node: true, category: "image/animation", python_module: "comfy_extras.nodes_images",
    });
  });
});

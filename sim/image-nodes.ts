import sharp from "sharp";
import { blend, blur, crop, type Frame, invert, pad, pyRound, reflectPadRefusal, resize, sharpen, solid } from "./image-ops.ts";
import type { Behaviour, RunContext } from "./node-behaviour.ts";
import { NodeFailure, tracebackFor } from "./node-errors.ts";
import { framePixels, type Picture, picture, toBytes } from "./picture.ts";

/**
 * What ComfyUI's no-model image nodes do (classes in image-node-classes.ts), on real pixels:
 * each result is a picture whose images are computed from the source's on demand.
 */

const num = (v: unknown): number => Number(v);

/** A picture of the same batch whose image `i` is `op` of the source's image `i`. */
export function mapped(src: Picture, width: number, height: number, tag: string, op: (f: Frame) => Float32Array): Picture {
  return {
    width, height, batch: Math.max(1, src.batch), key: `${src.key}|${tag}`,
    pixels: (i) => op({ width: src.width, height: src.height, data: framePixels(src, i) }),
  };
}

/** torch's error for an interpolation to nothing (a scale that rounds a side to 0). */
export function checkSize(ctx: RunContext, src: Picture, width: number, height: number): void {
  if (width >= 1 && height >= 1) return;
  throw new NodeFailure("RuntimeError", "Input and output sizes should be greater than 0, but got " +
    `input (H: ${src.height}, W: ${src.width}) output (H: ${height}, W: ${width})`, tracebackFor(ctx.classType));
}

/** torch's error for a reflect padding as wide as the image (a blur or sharpen radius ≥ a side). */
function checkReflectPad(ctx: RunContext, src: Picture, radius: number): void {
  const refusal = reflectPadRefusal(src.width, src.height, Math.max(1, src.batch), radius);
  if (refusal) throw new NodeFailure("RuntimeError", refusal, tracebackFor(ctx.classType));
}

function scaled(src: Picture, width: number, height: number, method: string, cropMode: string, ctx: RunContext): Picture {
  checkSize(ctx, src, width, height);
  return mapped(src, width, height, `scale:${width}x${height}:${method}:${cropMode}`, (f) => resize(f, width, height, method, cropMode).data);
}

function emptyImage(i: Record<string, unknown>): Picture {
  const width = num(i.width);
  const height = num(i.height);
  const color = num(i.color ?? 0);
  const rgb = [(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff].map((c) => c / 255) as [number, number, number];
  let data: Float32Array | undefined;
  return {
    width, height, batch: num(i.batch_size ?? 1), key: `empty|${width}x${height}|${color}`,
    pixels: () => (data ??= solid(width, height, rgb)),
  };
}

function imageScale(i: Record<string, unknown>, ctx: RunContext): Picture {
  const src = picture(i.image);
  let width = num(i.width);
  let height = num(i.height);
  if (width === 0 && height === 0) return src;
  if (width === 0) width = Math.max(1, pyRound((src.width * height) / src.height));
  else if (height === 0) height = Math.max(1, pyRound((src.height * width) / src.width));
  return scaled(src, width, height, String(i.upscale_method), String(i.crop), ctx);
}

function imageBatch(i: Record<string, unknown>): Picture {
  const a = picture(i.image1);
  const b = picture(i.image2);
  const first = Math.max(1, a.batch);
  const sameSize = a.width === b.width && a.height === b.height;
  return {
    width: a.width, height: a.height, batch: first + Math.max(1, b.batch), key: `${a.key}+${b.key}`,
    pixels: (n) => {
      if (n < first) return framePixels(a, n);
      const data = framePixels(b, n - first);
      return sameSize ? data : resize({ width: b.width, height: b.height, data }, a.width, a.height, "bilinear", "center").data;
    },
  };
}

function imageBlend(i: Record<string, unknown>): Picture {
  const a = picture(i.image1);
  const b = picture(i.image2);
  const factor = num(i.blend_factor);
  const mode = String(i.blend_mode);
  const sameSize = a.width === b.width && a.height === b.height;
  return {
    width: a.width, height: a.height, batch: Math.max(1, a.batch), key: `${a.key}|blend:${b.key}:${factor}:${mode}`,
    pixels: (n) => {
      // torch broadcasting: a single image2 blends into every image1, else image by image.
      const raw = framePixels(b, Math.max(1, b.batch) === 1 ? 0 : n);
      const other = sameSize ? raw : resize({ width: b.width, height: b.height, data: raw }, a.width, a.height, "bicubic", "center").data;
      return blend(framePixels(a, n), other, factor, mode);
    },
  };
}

function imageCrop(i: Record<string, unknown>): Picture {
  const src = picture(i.image);
  const x = Math.min(num(i.x), src.width - 1);
  const y = Math.min(num(i.y), src.height - 1);
  const width = Math.min(num(i.width), src.width - x);
  const height = Math.min(num(i.height), src.height - y);
  return mapped(src, width, height, `crop:${x},${y},${width}x${height}`, (f) => crop(f, x, y, width, height).data);
}

function repeatBatch(i: Record<string, unknown>): Picture {
  const src = picture(i.image);
  const batch = Math.max(1, src.batch);
  return { width: src.width, height: src.height, batch: batch * num(i.amount), key: `${src.key}|repeat`, pixels: (n) => framePixels(src, n % batch) };
}

function fromBatch(i: Record<string, unknown>): Picture {
  const src = picture(i.image);
  const batch = Math.max(1, src.batch);
  const start = Math.min(batch - 1, num(i.batch_index));
  const length = Math.min(batch - start, num(i.length));
  return { width: src.width, height: src.height, batch: length, key: `${src.key}|from${start}`, pixels: (n) => framePixels(src, start + n) };
}

const WEBP_METHODS: Record<string, number> = { default: 4, fastest: 0, slowest: 6 };

/**
 * SaveAnimatedWEBP: the whole batch as ONE animated WebP (PIL's `save_all` with `append_images`),
 * one frame per image, `int(1000 / fps)` ms each, looping forever; the prompt in EXIF as ComfyUI
 * writes it ("prompt:{json}" in tag 0x0110 Model, the first extra_pnginfo key in 0x010f Make).
 */
async function saveAnimatedWebp(i: Record<string, unknown>, ctx: RunContext): Promise<{ outputs: []; ui: Record<string, unknown> }> {
  const pic = picture(i.images);
  const frames = Math.max(1, pic.batch);
  const { width, height } = pic;
  const bytes = Buffer.alloc(width * height * 3 * frames);
  for (let n = 0; n < frames; n++) {
    await new Promise((resolve) => setImmediate(resolve));
    bytes.set(toBytes(framePixels(pic, n)), n * width * height * 3);
  }
  const delay = Math.min(65535, Math.trunc(1000 / num(i.fps)));
  const ifd0: Record<string, string> = {};
  const text = ctx.pngText;
  if (text.prompt !== undefined) ifd0.Model = `prompt:${text.prompt}`;
  const extra = Object.keys(text).find((k) => k !== "prompt");
  if (extra !== undefined) ifd0.Make = `${extra}:${text[extra]}`;
  const webp = await sharp(bytes, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .withExif({ IFD0: ifd0 })
    .webp({
      lossless: i.lossless === true, quality: Math.max(1, num(i.quality)), effort: WEBP_METHODS[String(i.method)] ?? 4,
      loop: 0, delay: Array.from({ length: frames }, () => delay),
    })
    .toBuffer();
  const saved = ctx.files.saveFile(String(i.filename_prefix), "webp", { width, height }, webp);
  return { outputs: [], ui: { images: [saved], animated: [frames !== 1] } };
}

/**
 * LoadImage's pixels: every frame of the file that has the first frame's size (ComfyUI skips
 * others), EXIF orientation applied to still images, alpha dropped as PIL's `convert("RGB")` does.
 */
export async function loadPixels(source: string | Buffer): Promise<{ width: number; height: number; frames: Float32Array[] }> {
  const meta = await sharp(source).metadata();
  const pages = meta.pages ?? 1;
  const input = pages > 1 ? sharp(source, { pages: -1 }) : sharp(source).rotate();
  const { data, info } = await input.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  // libvips stacks the frames of an animation, each the canvas's size.
  const height = pages > 1 ? Math.floor(info.height / pages) : info.height;
  const { width, channels } = info;
  const count = Math.max(1, Math.floor(info.height / height));
  const frames: Float32Array[] = [];
  for (let f = 0; f < count; f++) {
    const out = new Float32Array(width * height * 3);
    const base = f * width * height * channels;
    for (let p = 0; p < width * height; p++) {
      const at = base + p * channels;
      const grey = channels < 3;
      out[p * 3] = (data[at] as number) / 255;
      out[p * 3 + 1] = (data[grey ? at : at + 1] as number) / 255;
      out[p * 3 + 2] = (data[grey ? at : at + 2] as number) / 255;
    }
    frames.push(out);
  }
  return { width, height, frames };
}

export const IMAGE_BEHAVIOURS: Readonly<Record<string, Behaviour>> = {
  EmptyImage: (i) => ({ outputs: [emptyImage(i)] }),
  ImageInvert: (i) => {
    const src = picture(i.image);
    return { outputs: [mapped(src, src.width, src.height, "invert", (f) => invert(f.data))] };
  },
  ImageBlur: (i, ctx) => {
    const src = picture(i.image);
    const radius = num(i.blur_radius);
    const sigma = num(i.sigma);
    checkReflectPad(ctx, src, radius);
    return { outputs: [mapped(src, src.width, src.height, `blur:${radius}:${sigma}`, (f) => blur(f, radius, sigma))] };
  },
  ImageSharpen: (i, ctx) => {
    const src = picture(i.image);
    const radius = num(i.sharpen_radius);
    const sigma = num(i.sigma);
    const alpha = num(i.alpha);
    checkReflectPad(ctx, src, radius);
    return { outputs: [mapped(src, src.width, src.height, `sharpen:${radius}:${sigma}:${alpha}`, (f) => sharpen(f, radius, sigma, alpha))] };
  },
  ImageScale: (i, ctx) => ({ outputs: [imageScale(i, ctx)] }),
  ImageScaleBy: (i, ctx) => {
    const src = picture(i.image);
    const s = num(i.scale_by);
    return { outputs: [scaled(src, pyRound(src.width * s), pyRound(src.height * s), String(i.upscale_method), "disabled", ctx)] };
  },
  ImageScaleToTotalPixels: (i, ctx) => {
    const src = picture(i.image);
    const scale = Math.sqrt(Math.trunc(num(i.megapixels) * 1024 * 1024) / (src.width * src.height));
    return { outputs: [scaled(src, pyRound(src.width * scale), pyRound(src.height * scale), String(i.upscale_method), "disabled", ctx)] };
  },
  ImageBatch: (i) => ({ outputs: [imageBatch(i)] }),
  ImageBlend: (i) => ({ outputs: [imageBlend(i)] }),
  ImagePadForOutpaint: (i) => {
    const src = picture(i.image);
    const [l, t, r, b] = [num(i.left), num(i.top), num(i.right), num(i.bottom)];
    const out = mapped(src, src.width + l + r, src.height + t + b, `pad:${l},${t},${r},${b}`, (f) => pad(f, l, t, r, b).data);
    return { outputs: [out, { t: "MASK" }] };
  },
  ImageCrop: (i) => ({ outputs: [imageCrop(i)] }),
  RepeatImageBatch: (i) => ({ outputs: [repeatBatch(i)] }),
  ImageFromBatch: (i) => ({ outputs: [fromBatch(i)] }),
  SaveAnimatedWEBP: saveAnimatedWebp,
};

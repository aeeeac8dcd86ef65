import { PNG } from "pngjs";
import { NodeFailure } from "./node-errors.ts";
import { encodePng, encodeRgbPng, hash32 } from "./png.ts";

/**
 * An IMAGE (or LATENT) value as it flows along a link. Most pictures are only a descriptor: the
 * pixels follow from `key` (the mosaic `encodePng` draws), so samplers and savers stay cheap.
 * Image nodes that really change pixels (invert, blur, scale…) give `pixels`, computed per image
 * on demand, so a batch of 4096 large images never sits in memory at once.
 */
export interface Picture {
  readonly width: number;
  readonly height: number;
  readonly batch: number;
  /** Seed, prompt text and source material: the picture follows from it. */
  readonly key: string;
  /** Image `index` of the batch as RGB floats 0..1 (row-major, 3 per pixel), ComfyUI's tensor values. */
  readonly pixels?: (index: number) => Float32Array;
}

/** One image a saver writes: its mosaic key, or its real pixels when an image node made them. */
export interface ImageToSave {
  readonly width: number;
  readonly height: number;
  readonly key: number;
  readonly rgb?: () => Uint8Array;
}

export function picture(v: unknown): Picture {
  if (typeof v === "object" && v !== null && "width" in v) return v as Picture;
  throw new NodeFailure("AttributeError", `'${v === null ? "NoneType" : typeof v}' object has no attribute 'shape'`, []);
}

/** The same picture as a bare descriptor: what a VAE or sampler passes on (pixels do not survive latent space). */
export function described(pic: Picture): Picture {
  return { width: pic.width, height: pic.height, batch: pic.batch, key: pic.key };
}

/** The mosaic key of image `index`. */
export function imageKey(pic: Picture, index: number): number {
  return hash32(`${pic.key}#${index}`);
}

/** Image `index` as floats: computed pixels, or the mosaic the savers would draw for it. */
export function framePixels(pic: Picture, index: number): Float32Array {
  if (pic.pixels) return pic.pixels(index);
  const png = PNG.sync.read(encodePng(pic.width, pic.height, imageKey(pic, index)));
  const out = new Float32Array(png.width * png.height * 3);
  for (let p = 0, q = 0; q < out.length; p += 4, q += 3) {
    out[q] = (png.data[p] as number) / 255;
    out[q + 1] = (png.data[p + 1] as number) / 255;
    out[q + 2] = (png.data[p + 2] as number) / 255;
  }
  return out;
}

/** `np.clip(255 * x, 0, 255).astype(np.uint8)`, as ComfyUI's savers turn tensors into bytes (truncating). */
export function toBytes(pixels: Float32Array): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.fround(255 * (pixels[i] as number));
    out[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return out;
}

/** The images of a batch as savers write them (at least one, as the sim always has). */
export function imagesToSave(pic: Picture): ImageToSave[] {
  const { pixels } = pic;
  return Array.from({ length: Math.max(1, pic.batch) }, (_, b) => ({
    width: pic.width,
    height: pic.height,
    key: imageKey(pic, b),
    ...(pixels ? { rgb: () => toBytes(pixels(b)) } : {}),
  }));
}

/** A PNG of one image to save, with optional tEXt chunks. */
export function encodeImage(img: ImageToSave, text: Record<string, string> = {}): Buffer {
  return img.rgb ? encodeRgbPng(img.width, img.height, img.rgb(), text) : encodePng(img.width, img.height, img.key, text);
}

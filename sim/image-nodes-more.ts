import { encodeApng } from "./apng.ts";
import { checkSize, mapped } from "./image-nodes.ts";
import type { Behaviour, RunContext } from "./node-behaviour.ts";
import { framePixels, picture, toBytes } from "./picture.ts";
import { mapToPalette, medianCutPalette } from "./quantize.ts";
import { matchedSize, stitch } from "./stitch.ts";

/** ImageQuantize, ImageStitch and SaveAnimatedPNG: more of ComfyUI's no-model image nodes, on real pixels. */

const num = (v: unknown): number => Number(v);

/** Python's `json.dumps` writes ASCII only (`\uXXXX` escapes), so ComfyUI's latin-1 `comf` chunks always encode. */
const asciiJson = (json: string): string => json.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * SaveAnimatedPNG: the whole batch as ONE animated PNG (PIL's `save_all`), a frame per image
 * shown `int(1000 / fps)` ms, zlib level `compress_level`, the prompt and extra_pnginfo in
 * private `comf` chunks after the image data; the UI says `animated: [true]` whatever the count.
 */
async function saveAnimatedPng(i: Record<string, unknown>, ctx: RunContext): Promise<{ outputs: []; ui: Record<string, unknown> }> {
  const pic = picture(i.images);
  const frames: Uint8Array[] = [];
  for (let n = 0; n < Math.max(1, pic.batch); n++) {
    await new Promise((resolve) => setImmediate(resolve));
    frames.push(toBytes(framePixels(pic, n)));
  }
  const comf = Object.fromEntries(Object.entries(ctx.pngText).map(([k, v]) => [k, asciiJson(v)]));
  const png = encodeApng(pic.width, pic.height, frames, { delayMs: Math.trunc(1000 / num(i.fps)), compressLevel: num(i.compress_level), comf });
  const saved = ctx.files.saveFile(String(i.filename_prefix), "png", { width: pic.width, height: pic.height }, png);
  return { outputs: [], ui: { images: [saved], animated: [true] } };
}

export const MORE_IMAGE_BEHAVIOURS: Readonly<Record<string, Behaviour>> = {
  ImageQuantize: (i) => {
    const src = picture(i.image);
    const colors = num(i.colors);
    const dither = String(i.dither);
    return {
      outputs: [mapped(src, src.width, src.height, `quantize:${colors}:${dither}`, (f) => {
        const bytes = toBytes(f.data);
        const quantized = mapToPalette(bytes, f.width, f.height, medianCutPalette(bytes, colors), dither);
        return Float32Array.from(quantized, (v) => v / 255);
      })],
    };
  },
  ImageStitch: (i, ctx) => {
    const a = picture(i.image1);
    if (i.image2 === undefined || i.image2 === null) return { outputs: [a] };
    const b = picture(i.image2);
    const direction = String(i.direction);
    const matchImageSize = i.match_image_size === true;
    if (matchImageSize) {
      const size = matchedSize(a, b, direction === "left" || direction === "right");
      checkSize(ctx, b, size.width, size.height);
    }
    return { outputs: [stitch(a, b, { direction, matchImageSize, spacingWidth: num(i.spacing_width), spacingColor: String(i.spacing_color) })] };
  },
  SaveAnimatedPNG: saveAnimatedPng,
};

import zlib from "node:zlib";
import { chunk, SIGNATURE } from "./png.ts";

/** One image of an animation: RGB bytes, row-major, 3 per pixel. */
export type RgbFrame = Uint8Array;

export interface ApngOptions {
  /** Each frame's display time in ms (fcTL's delay is a 16-bit fraction: at most 65535/1000 s). */
  delayMs: number;
  /** zlib level 0-9, as PIL's `compress_level`. */
  compressLevel: number;
  /** Private `comf` chunks written after the image data, as ComfyUI's SaveAnimatedPNG does: `key\0value`. */
  comf?: Record<string, string>;
}

/** Scanlines with filter type 0 (none) before each: what IDAT and fdAT compress. */
function scanlines(width: number, height: number, rgb: RgbFrame): Buffer {
  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * stride + 1);
  return raw;
}

/** fcTL: frame `seq`, the whole canvas, `delayMs` over 1000, no disposal, source blending. */
function frameControl(seq: number, width: number, height: number, delayMs: number): Buffer {
  const data = Buffer.alloc(26);
  data.writeUInt32BE(seq, 0);
  data.writeUInt32BE(width, 4);
  data.writeUInt32BE(height, 8);
  data.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.trunc(delayMs))), 20);
  data.writeUInt16BE(1000, 22);
  return chunk("fcTL", data);
}

/**
 * An animated PNG (APNG) of `frames`, each `width x height`, looping forever: IHDR, acTL, then
 * per frame an fcTL and its data (IDAT for the first, which plain PNG readers show; fdAT after),
 * the `comf` chunks, IEND. Every frame is stored whole.
 */
export function encodeApng(width: number, height: number, frames: readonly RgbFrame[], o: ApngOptions): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames.length, 0);
  const out = [SIGNATURE, chunk("IHDR", ihdr), chunk("acTL", actl)];
  let seq = 0;
  frames.forEach((rgb, n) => {
    out.push(frameControl(seq++, width, height, o.delayMs));
    const data = zlib.deflateSync(scanlines(width, height, rgb), { level: o.compressLevel });
    if (n === 0) {
      out.push(chunk("IDAT", data));
      return;
    }
    const numbered = Buffer.alloc(4 + data.length);
    numbered.writeUInt32BE(seq++, 0);
    data.copy(numbered, 4);
    out.push(chunk("fdAT", numbered));
  });
  for (const [key, value] of Object.entries(o.comf ?? {})) out.push(chunk("comf", Buffer.from(`${key}\0${value}`, "latin1")));
  out.push(chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(out);
}

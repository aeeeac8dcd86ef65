import { type Frame, resize } from "./image-ops.ts";
import { framePixels, type Picture } from "./picture.ts";

/**
 * ImageStitch (comfy_extras/nodes_images.py): image2 joined to image1's right, bottom, left or
 * top, optionally scaled to image1's height (or width) first, else centred on a padded band,
 * with an optional coloured gap between. Batches of different sizes repeat the shorter one's
 * last image.
 */

export const STITCH_DIRECTIONS = ["right", "down", "left", "up"] as const;
export const SPACING_COLORS = ["white", "black", "red", "green", "blue"] as const;

const COLOURS: Record<string, [number, number, number]> = {
  white: [1, 1, 1], black: [0, 0, 0], red: [1, 0, 0], green: [0, 1, 0], blue: [0, 0, 1],
};

export interface StitchOptions {
  direction: string;
  matchImageSize: boolean;
  spacingWidth: number;
  spacingColor: string;
}

/** `f` centred on a `width x height` canvas of `fill` (only one side ever grows). */
function centred(f: Frame, width: number, height: number, fill: number): Frame {
  if (f.width === width && f.height === height) return f;
  const out = new Float32Array(width * height * 3).fill(fill);
  const left = Math.floor((width - f.width) / 2);
  const top = Math.floor((height - f.height) / 2);
  for (let row = 0; row < f.height; row++) out.set(f.data.subarray(row * f.width * 3, (row + 1) * f.width * 3), ((top + row) * width + left) * 3);
  return { width, height, data: out };
}

/** Side by side (`horizontal`) or stacked: the frames already share the other side's length. */
function join(frames: Frame[], horizontal: boolean): Frame {
  const width = horizontal ? frames.reduce((n, f) => n + f.width, 0) : frames[0]!.width;
  const height = horizontal ? frames[0]!.height : frames.reduce((n, f) => n + f.height, 0);
  const out = new Float32Array(width * height * 3);
  let offset = 0;
  for (const f of frames) {
    for (let row = 0; row < f.height; row++) {
      const to = horizontal ? (row * width + offset) * 3 : ((offset + row) * width) * 3;
      out.set(f.data.subarray(row * f.width * 3, (row + 1) * f.width * 3), to);
    }
    offset += horizontal ? f.width : f.height;
  }
  return { width, height, data: out };
}

/** The size image2 is scaled to with match_image_size: Python's `int()` of the aspect-kept side. */
export function matchedSize(a: Picture, b: Picture, horizontal: boolean): { width: number; height: number } {
  const aspect = b.width / b.height;
  return horizontal ? { width: Math.trunc(a.height * aspect), height: a.height } : { width: a.width, height: Math.trunc(a.width / aspect) };
}

export function stitch(a: Picture, b: Picture, o: StitchOptions): Picture {
  const horizontal = o.direction === "left" || o.direction === "right";
  const batch = Math.max(Math.max(1, a.batch), Math.max(1, b.batch));
  const size2 = o.matchImageSize ? matchedSize(a, b, horizontal) : { width: b.width, height: b.height };
  // Without matching, the shorter side is padded: white or black as the gap, 0 for a coloured gap.
  const fill = o.spacingColor === "white" ? 1 : 0;
  const band = horizontal ? Math.max(a.height, size2.height) : Math.max(a.width, size2.width);
  const gap = o.spacingWidth > 0 ? o.spacingWidth + (o.spacingWidth % 2) : 0;
  const across = (p: { width: number; height: number }) => (horizontal ? p.width : p.height);
  const length = across(a) + across(size2) + gap;
  const width = horizontal ? length : band;
  const height = horizontal ? band : length;
  const frameOf = (pic: Picture, n: number): Frame => ({ width: pic.width, height: pic.height, data: framePixels(pic, Math.min(n, Math.max(1, pic.batch) - 1)) });
  return {
    width, height, batch,
    key: `${a.key}|stitch:${b.key}:${o.direction}:${o.matchImageSize}:${gap}:${o.spacingColor}`,
    pixels: (n) => {
      let second = frameOf(b, n);
      if (o.matchImageSize) second = resize(second, size2.width, size2.height, "lanczos", "disabled");
      const place = (f: Frame) => (horizontal ? centred(f, f.width, band, fill) : centred(f, band, f.height, fill));
      const parts = [place(frameOf(a, n)), place(second)];
      if (o.direction === "left" || o.direction === "up") parts.reverse();
      if (gap > 0) {
        const spacer = horizontal ? { width: gap, height: band } : { width: band, height: gap };
        const data = new Float32Array(spacer.width * spacer.height * 3);
        const rgb = COLOURS[o.spacingColor] ?? COLOURS.white!;
        for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
        parts.splice(1, 0, { ...spacer, data });
      }
      return join(parts, horizontal).data;
    },
  };
}

/**
 * ImageQuantize's pixel work, after PIL's `Image.quantize` as ComfyUI calls it: a palette of at
 * most `colors` colours by median cut, then each pixel mapped to its nearest palette colour, as
 * is, with Floyd-Steinberg error diffusion, or with an ordered (Bayer) threshold. Not PIL's exact
 * palette, but the same kind of picture: few colours, all from the image.
 */

type Rgb = [number, number, number];

export const DITHERS = ["none", "floyd-steinberg", "bayer-2", "bayer-4", "bayer-8", "bayer-16"] as const;

interface Box {
  colours: { rgb: Rgb; count: number }[];
  pixels: number;
}

/** The box's colour: the mean of its pixels. */
function meanOf(box: Box): Rgb {
  const sum = [0, 0, 0];
  for (const { rgb, count } of box.colours) for (let c = 0; c < 3; c++) sum[c]! += rgb[c]! * count;
  return sum.map((s) => Math.round(s / box.pixels)) as Rgb;
}

/** Splits a box at the pixel median of its widest channel; null when it holds one colour. */
function split(box: Box): [Box, Box] | null {
  if (box.colours.length < 2) return null;
  let channel = 0;
  let widest = -1;
  for (let c = 0; c < 3; c++) {
    const values = box.colours.map((e) => e.rgb[c]!);
    const range = Math.max(...values) - Math.min(...values);
    if (range > widest) [widest, channel] = [range, c];
  }
  const sorted = [...box.colours].sort((a, b) => a.rgb[channel]! - b.rgb[channel]!);
  let seen = 0;
  let at = 1;
  for (; at < sorted.length; at++) {
    seen += sorted[at - 1]!.count;
    if (seen * 2 >= box.pixels) break;
  }
  at = Math.min(at, sorted.length - 1);
  const left = sorted.slice(0, at);
  const right = sorted.slice(at);
  const pixelsOf = (cs: Box["colours"]) => cs.reduce((n, e) => n + e.count, 0);
  return [{ colours: left, pixels: pixelsOf(left) }, { colours: right, pixels: pixelsOf(right) }];
}

/** At most `colors` colours for `rgb` (bytes, 3 per pixel): every distinct colour when they are few, else median cut. */
export function medianCutPalette(rgb: Uint8Array, colors: number): Rgb[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < rgb.length; i += 3) {
    const key = (rgb[i]! << 16) | (rgb[i + 1]! << 8) | rgb[i + 2]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const colours = [...counts].map(([key, count]) => ({ rgb: [(key >> 16) & 255, (key >> 8) & 255, key & 255] as Rgb, count }));
  if (colours.length <= colors) return colours.map((c) => c.rgb);
  let boxes: Box[] = [{ colours, pixels: rgb.length / 3 }];
  while (boxes.length < colors) {
    // The most populous box that can still be split.
    const order = boxes.map((b, i) => i).sort((a, b) => boxes[b]!.pixels - boxes[a]!.pixels);
    const i = order.find((n) => boxes[n]!.colours.length > 1);
    if (i === undefined) break;
    const halves = split(boxes[i]!)!;
    boxes = [...boxes.slice(0, i), ...halves, ...boxes.slice(i + 1)];
  }
  return boxes.map(meanOf);
}

function nearest(palette: readonly Rgb[], r: number, g: number, b: number): Rgb {
  let best = palette[0]!;
  let bestD = Number.POSITIVE_INFINITY;
  for (const p of palette) {
    const d = (p[0] - r) ** 2 + (p[1] - g) ** 2 + (p[2] - b) ** 2;
    if (d < bestD) [best, bestD] = [p, d];
  }
  return best;
}

/** The Bayer threshold matrix of side 2^n, normalised to about -0.5..0.5 (0 for n = 0). */
export function bayerMatrix(n: number): number[][] {
  if (n === 0) return [[0]];
  const q = 4 ** n;
  const inner = bayerMatrix(n - 1).map((row) => row.map((v) => v * q));
  const side = inner.length;
  const offsets = [[-1.5, 0.5], [1.5, -0.5]];
  return Array.from({ length: 2 * side }, (_, y) =>
    Array.from({ length: 2 * side }, (_, x) => (inner[y % side]![x % side]! + offsets[Math.floor(y / side)]![Math.floor(x / side)]!) / q));
}

/** `rgb` (bytes) with every pixel replaced by a colour of `palette`, dithered as asked; bytes out. */
export function mapToPalette(rgb: Uint8Array, width: number, height: number, palette: readonly Rgb[], dither: string): Uint8Array {
  const out = new Uint8Array(rgb.length);
  const cache = new Map<number, Rgb>();
  const lookup = (r: number, g: number, b: number): Rgb => {
    const key = (r << 16) | (g << 8) | b;
    let p = cache.get(key);
    if (!p) cache.set(key, (p = nearest(palette, r, g, b)));
    return p;
  };
  const clampByte = (v: number) => Math.max(0, Math.min(255, v));
  if (dither === "floyd-steinberg") {
    const work = Float64Array.from(rgb);
    const spread = (x: number, y: number, c: number, err: number) => {
      if (x >= 0 && x < width && y < height) work[(y * width + x) * 3 + c]! += err;
    };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * 3;
        const want = [0, 1, 2].map((c) => clampByte(Math.round(work[at + c]!))) as Rgb;
        const got = lookup(...want);
        for (let c = 0; c < 3; c++) {
          out[at + c] = got[c]!;
          // From the clipped value, as PIL does: error a palette cannot reach does not pile up.
          const err = want[c]! - got[c]!;
          spread(x + 1, y, c, (err * 7) / 16);
          spread(x - 1, y + 1, c, (err * 3) / 16);
          spread(x, y + 1, c, (err * 5) / 16);
          spread(x + 1, y + 1, c, err / 16);
        }
      }
    }
    return out;
  }
  const order = dither.startsWith("bayer-") ? Number(dither.slice("bayer-".length)) : 1;
  const matrix = bayerMatrix(Math.round(Math.log2(order)));
  const side = matrix.length;
  // The threshold's amplitude: the step between palette colours (2 * 256 / colours).
  const amplitude = (2 * 256) / palette.length;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      const t = order > 1 ? amplitude * matrix[y % side]![x % side]! + 0.5 : 0;
      const got = lookup(...([0, 1, 2].map((c) => Math.trunc(clampByte(rgb[at + c]! + t))) as Rgb));
      out.set(got, at);
    }
  }
  return out;
}

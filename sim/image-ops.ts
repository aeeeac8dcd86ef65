/**
 * Pixel operations on one image (RGB floats 0..1, row-major, 3 per pixel), done the way
 * ComfyUI's tensors are: zero-padded convolutions, `1 - x`, torch interpolation rules. Every
 * operation returns a new array; inputs are shared between pictures and never changed.
 */

export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** Python's `round()`: halves go to the even neighbour. */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function solid(width: number, height: number, rgb: readonly [number, number, number]): Float32Array {
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) out.set(rgb, i);
  return out;
}

export function invert(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = 1 - (data[i] as number);
  return out;
}

/** A separable convolution with zero padding (torch's `conv2d(padding=k // 2)`), `weights` centred. */
function convolve(f: Frame, weights: Float64Array): Float32Array {
  const { width: w, height: h, data } = f;
  const r = (weights.length - 1) / 2;
  const tmp = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) {
          const xx = x + k;
          if (xx >= 0 && xx < w) sum += (weights[k + r] as number) * (data[(y * w + xx) * 3 + c] as number);
        }
        tmp[(y * w + x) * 3 + c] = sum;
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) {
          const yy = y + k;
          if (yy >= 0 && yy < h) sum += (weights[k + r] as number) * (tmp[(yy * w + x) * 3 + c] as number);
        }
        out[(y * w + x) * 3 + c] = sum;
      }
    }
  }
  return out;
}

/**
 * ImageBlur: a `(2r+1)²` Gaussian over `linspace(-1, 1)` with `sigma`, normalised to sum 1 and
 * zero-padded at the edges. ComfyUI builds it in 2-D; exp(-(x²+y²)) factors, so two 1-D passes give the same kernel.
 */
export function blur(f: Frame, radius: number, sigma: number): Float32Array {
  const size = radius * 2 + 1;
  const g = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = -1 + (2 * i) / (size - 1);
    g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += g[i] as number;
  }
  for (let i = 0; i < size; i++) g[i] = (g[i] as number) / sum;
  return convolve(f, g);
}

/** ImageSharpen: kernel of -1 with `size²` at the centre, times `alpha`, zero-padded, clamped to 0..1. */
export function sharpen(f: Frame, radius: number, alpha: number): Float32Array {
  const size = radius * 2 + 1;
  const box = convolve(f, new Float64Array(size).fill(1));
  const out = new Float32Array(f.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = alpha * ((size * size + 1) * (f.data[i] as number) - (box[i] as number));
    out[i] = Math.min(1, Math.max(0, v));
  }
  return out;
}

/** `common_upscale`'s "center" crop: the middle part of the source with the target's aspect ratio. */
function centerCrop(f: Frame, width: number, height: number): Frame {
  const oldAspect = f.width / f.height;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = pyRound((f.width - f.width * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = pyRound((f.height - f.height * (oldAspect / newAspect)) / 2);
  return crop(f, x, y, f.width - 2 * x, f.height - 2 * y);
}

export function crop(f: Frame, x: number, y: number, width: number, height: number): Frame {
  const out = new Float32Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * f.width + x) * 3;
    out.set(f.data.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, data: out };
}

/** Source index and weight pairs for one output coordinate along one axis. */
type Taps = (i: number) => [number, number][];

function taps(method: string, from: number, to: number): Taps {
  const scale = from / to;
  if (method === "nearest-exact") return (i) => [[Math.min(Math.floor((i + 0.5) * scale), from - 1), 1]];
  if (method === "area") {
    // adaptive_avg_pool: each output averages its window of the input.
    return (i) => {
      const start = Math.floor((i * from) / to);
      const end = Math.ceil(((i + 1) * from) / to);
      const list: [number, number][] = [];
      for (let s = start; s < end; s++) list.push([s, 1 / (end - start)]);
      return list;
    };
  }
  // bilinear, align_corners=False (bicubic and lanczos are drawn the same way: close enough for a stand-in).
  return (i) => {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(src), from - 1);
    const i1 = Math.min(i0 + 1, from - 1);
    const t = src - i0;
    return [[i0, 1 - t], [i1, t]];
  };
}

/** `comfy.utils.common_upscale`: optional centre crop, then resize with the method's sampling. */
export function resize(input: Frame, width: number, height: number, method: string, cropMode: string): Frame {
  const f = cropMode === "center" ? centerCrop(input, width, height) : input;
  const tx = taps(method, f.width, width);
  const ty = taps(method, f.height, height);
  const cols = Array.from({ length: width }, (_, x) => tx(x));
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const rows = ty(y);
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      for (const [sy, wy] of rows) {
        for (const [sx, wx] of cols[x] as [number, number][]) {
          const from = (sy * f.width + sx) * 3;
          const wgt = wy * wx;
          out[at] = (out[at] as number) + wgt * (f.data[from] as number);
          out[at + 1] = (out[at + 1] as number) + wgt * (f.data[from + 1] as number);
          out[at + 2] = (out[at + 2] as number) + wgt * (f.data[from + 2] as number);
        }
      }
    }
  }
  return { width, height, data: out };
}

/** ImagePadForOutpaint's image: grey (0.5) borders around the original. */
export function pad(f: Frame, left: number, top: number, right: number, bottom: number): Frame {
  const width = f.width + left + right;
  const height = f.height + top + bottom;
  const out = new Float32Array(width * height * 3).fill(0.5);
  for (let row = 0; row < f.height; row++) {
    out.set(f.data.subarray(row * f.width * 3, (row + 1) * f.width * 3), ((top + row) * width + left) * 3);
  }
  return { width, height, data: out };
}

const softLightG = (x: number): number => (x <= 0.25 ? ((16 * x - 12) * x + 4) * x : Math.sqrt(x));

/** ImageBlend's modes, mixed by `factor` and clamped; `b` is already image1's size. */
export function blend(a: Float32Array, b: Float32Array, factor: number, mode: string): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    let m = y;
    if (mode === "multiply") m = x * y;
    else if (mode === "screen") m = 1 - (1 - x) * (1 - y);
    else if (mode === "overlay") m = x <= 0.5 ? 2 * x * y : 1 - 2 * (1 - x) * (1 - y);
    else if (mode === "soft_light") m = y <= 0.5 ? x - (1 - 2 * y) * x * (1 - x) : x + (2 * y - 1) * (softLightG(x) - x);
    out[i] = Math.min(1, Math.max(0, x * (1 - factor) + m * factor));
  }
  return out;
}

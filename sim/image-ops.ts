/**
 * Pixel operations on one image (RGB floats 0..1, row-major, 3 per pixel), done the way
 * ComfyUI's tensors are: reflect-padded convolutions, `1 - x`, torch interpolation rules. Every
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

/** torch's `F.pad(…, "reflect")` index: the edge itself is not repeated (-1 → 1, n → n - 2). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/**
 * A separable convolution over the image reflect-padded by the kernel's radius, as ComfyUI's
 * blur and sharpen do (`F.pad(…, "reflect")`, `conv2d`, then the padding cropped off).
 */
function convolve(f: Frame, weights: Float64Array): Float32Array {
  const { width: w, height: h, data } = f;
  const r = (weights.length - 1) / 2;
  const tmp = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) sum += (weights[k + r] as number) * (data[(y * w + reflect(x + k, w)) * 3 + c] as number);
        tmp[(y * w + x) * 3 + c] = sum;
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) sum += (weights[k + r] as number) * (tmp[(reflect(y + k, h) * w + x) * 3 + c] as number);
        out[(y * w + x) * 3 + c] = sum;
      }
    }
  }
  return out;
}

/**
 * Why torch refuses a reflect padding of `radius` on this image (it must be smaller than each
 * side), as its RuntimeError words it; null when it is fine. Width is checked first.
 */
export function reflectPadRefusal(width: number, height: number, batch: number, radius: number): string | null {
  const dims: [number, number][] = [[3, width], [2, height]];
  const bad = dims.find(([, n]) => radius >= n);
  if (!bad) return null;
  return `Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (${radius}, ${radius}) at dimension ${bad[0]} of input [${batch}, 3, ${height}, ${width}]`;
}

/**
 * ComfyUI's `gaussian_kernel`: exp(-d²/2σ²) over `linspace(-1, 1)` in both axes, normalised to
 * sum 1. It factors into two 1-D kernels, so two passes give the same result as its 2-D one.
 */
function gaussian(radius: number, sigma: number): Float64Array {
  const size = radius * 2 + 1;
  const g = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = -1 + (2 * i) / (size - 1);
    g[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
    sum += g[i] as number;
  }
  for (let i = 0; i < size; i++) g[i] = (g[i] as number) / sum;
  return g;
}

/** ImageBlur: the Gaussian of `sigma` over `(2r+1)²` pixels, reflect-padded. */
export function blur(f: Frame, radius: number, sigma: number): Float32Array {
  return convolve(f, gaussian(radius, sigma));
}

/**
 * ImageSharpen: ComfyUI's kernel is the Gaussian times -10α with its centre raised so the
 * kernel sums to 1, i.e. (1 + 10α)·x - 10α·blur(x); reflect-padded, clamped to 0..1.
 */
export function sharpen(f: Frame, radius: number, sigma: number, alpha: number): Float32Array {
  const blurred = blur(f, radius, sigma);
  const out = new Float32Array(f.data.length);
  const k = 10 * alpha;
  for (let i = 0; i < out.length; i++) {
    const v = (1 + k) * (f.data[i] as number) - k * (blurred[i] as number);
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
    else if (mode === "difference") m = x - y;
    out[i] = Math.min(1, Math.max(0, x * (1 - factor) + m * factor));
  }
  return out;
}

import zlib from "node:zlib";

/**
 * A deterministic RGB "mosaic" PNG of any size, fast enough to write thousands per second: the
 * picture is a grid of flat colour blocks, so each block row is one real scanline (Sub filter,
 * stored uncompressed) followed by scanlines that repeat it (Up filter, all zeros). Those
 * repeats are compressed once per width and spliced in as sync-flushed deflate blocks; the
 * zlib checksum is combined arithmetically instead of re-reading megabytes of zeros.
 */

export const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);
const ZLIB_HEADER = Buffer.from([0x78, 0x01]);
const ADLER_BASE = 65521;
const GRID = 16;

/** 32-bit FNV-1a: the image key's hash (no crypto needed, only determinism). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < buf.length; ) {
    const end = Math.min(buf.length, i + 3800);
    for (; i < end; i++) {
      a += buf[i] as number;
      b += a;
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return ((b << 16) | a) >>> 0;
}

/** zlib's `adler32_combine`: the checksum of A+B from those of A and B and B's length. */
function adlerCombine(adler1: number, adler2: number, len2: number): number {
  const rem = len2 % ADLER_BASE;
  let sum1 = adler1 & 0xffff;
  let sum2 = (rem * sum1) % ADLER_BASE;
  sum1 += (adler2 & 0xffff) + ADLER_BASE - 1;
  sum2 += ((adler1 >>> 16) & 0xffff) + ((adler2 >>> 16) & 0xffff) + ADLER_BASE - rem;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum2 >= ADLER_BASE << 1) sum2 -= ADLER_BASE << 1;
  if (sum2 >= ADLER_BASE) sum2 -= ADLER_BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}

interface Piece {
  deflated: Buffer;
  adler: number;
  length: number;
}

function piece(raw: Buffer): Piece {
  const deflated = zlib.deflateRawSync(raw, { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return { deflated, adler: adler32(raw), length: raw.length };
}

/** A non-final stored (uncompressed) deflate block: costs a copy, not a zlib call. */
function stored(raw: Buffer): Piece {
  const out = Buffer.alloc(5 + raw.length);
  out.writeUInt16LE(raw.length, 1);
  out.writeUInt16LE(~raw.length & 0xffff, 3);
  raw.copy(out, 5);
  return { deflated: out, adler: adler32(raw), length: raw.length };
}

/** Scanlines that repeat the one above (filter Up, zero deltas), by "width x rows". */
const repeatCache = new Map<string, Piece>();
function repeatRows(width: number, rows: number): Piece {
  const key = `${width}x${rows}`;
  let p = repeatCache.get(key);
  if (!p) {
    const stride = 1 + width * 3;
    const raw = Buffer.alloc(stride * rows);
    for (let r = 0; r < rows; r++) raw[r * stride] = 2;
    p = piece(raw);
    if (repeatCache.size > 64) repeatCache.clear();
    repeatCache.set(key, p);
  }
  return p;
}

export function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** tEXt when the value is Latin-1 (as PIL writes it), else iTXt with UTF-8. */
function textChunk(keyword: string, value: string): Buffer {
  if (/^[\u0000-\u00ff]*$/.test(value)) return chunk("tEXt", Buffer.from(`${keyword}\0${value}`, "latin1"));
  return chunk("iTXt", Buffer.concat([Buffer.from(`${keyword}\0\0\0\0\0`, "latin1"), Buffer.from(value, "utf8")]));
}

/** The colour of grid cell (row, col): two hash-picked colours blended across the grid. */
function palette(key: number): (row: number, col: number) => [number, number, number] {
  let s = key || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
  const a = [next() * 255, next() * 255, next() * 255];
  const b = [next() * 255, next() * 255, next() * 255];
  const wobble = next() * 64;
  return (row, col) => {
    const t = (row + col) / (2 * (GRID - 1));
    const w = ((row * 7 + col * 13) % 5) * wobble * 0.1;
    return [0, 1, 2].map((c) => Math.round(((a[c] as number) * (1 - t) + (b[c] as number) * t + w) & 255)) as [number, number, number];
  };
}

/** A `width x height` RGB PNG whose pixels follow from `key`, with optional tEXt chunks. */
export function encodePng(width: number, height: number, key: number, text: Record<string, string> = {}): Buffer {
  const w = Math.max(1, Math.floor(width));
  const h = Math.max(1, Math.floor(height));
  const colour = palette(key);
  const bandRows = Math.ceil(h / GRID);
  const cellCols = Math.ceil(w / GRID);
  const stride = 1 + w * 3;
  const parts: Buffer[] = [ZLIB_HEADER];
  let adler = 1;
  for (let top = 0, band = 0; top < h; top += bandRows, band++) {
    const line = Buffer.alloc(stride);
    line[0] = 1;
    let prev: [number, number, number] = [0, 0, 0];
    for (let x = 0; x < w; x += cellCols) {
      const c = colour(band, Math.floor(x / cellCols));
      const at = 1 + x * 3;
      line[at] = (c[0] - prev[0]) & 255;
      line[at + 1] = (c[1] - prev[1]) & 255;
      line[at + 2] = (c[2] - prev[2]) & 255;
      prev = c;
    }
    // Stored blocks hold at most 65535 bytes; wider key rows (over 21845 px) are compressed.
    const key = stride <= 0xffff ? stored(line) : piece(line);
    parts.push(key.deflated);
    adler = adlerCombine(adler, key.adler, key.length);
    const rest = Math.min(bandRows, h - top) - 1;
    if (rest > 0) {
      const repeat = repeatRows(w, rest);
      parts.push(repeat.deflated);
      adler = adlerCombine(adler, repeat.adler, repeat.length);
    }
  }
  parts.push(FINAL_EMPTY_BLOCK);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler, 0);
  parts.push(trailer);

  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const chunks = [SIGNATURE, chunk("IHDR", ihdr)];
  for (const [k, v] of Object.entries(text)) chunks.push(textChunk(k, v));
  chunks.push(chunk("IDAT", Buffer.concat(parts)), chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

/** Width and height from a PNG's IHDR, or null when `buf` is no PNG. */
export function pngSize(buf: Buffer): { width: number; height: number } | null {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(SIGNATURE)) return null;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** A PNG of real RGB bytes (`width * height * 3`, row-major), with optional tEXt chunks. */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array, text: Record<string, string> = {}): Buffer {
  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * stride + 1);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const chunks = [SIGNATURE, chunk("IHDR", ihdr)];
  for (const [k, v] of Object.entries(text)) chunks.push(textChunk(k, v));
  chunks.push(chunk("IDAT", zlib.deflateSync(raw, { level: 4 })), chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(chunks);
}

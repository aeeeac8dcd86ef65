import { PNG } from "pngjs";

/** A small real PNG (a gradient), for uploads. */
export function gradientPng(width = 8, height = 8): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) png.data.set([(i * 7) % 256, (i * 13) % 256, 128, 255], i * 4);
  return PNG.sync.write(png);
}

/** Decodes a PNG fully (throws if it is not one) and returns its size. */
export function decodePng(bytes: Buffer): { width: number; height: number } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height };
}

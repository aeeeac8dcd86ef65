/**
 * A PNG as far as any header reader can tell: signature and an IHDR chunk with the given size,
 * then `filler` bytes of a position pattern (so a body stored or served out of order shows).
 */
export function pngHeader(width: number, height: number, filler = 400): Uint8Array {
  const out = new Uint8Array(8 + 25 + filler);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(out.buffer);
  v.setUint32(8, 13);
  out.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
  v.setUint32(16, width);
  v.setUint32(20, height);
  out.set([8, 2, 0, 0, 0], 24);
  for (let i = 33; i < out.length; i++) out[i] = (i * 31) & 255;
  return out;
}

import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { encodePng, pngSize } from "./png.ts";

describe("encodePng", () => {
  it("writes PNGs that a strict decoder reads at the requested size (checksums included)", () => {
    for (const [w, h] of [[1, 1], [16, 16], [17, 33], [1024, 1024], [768, 1344], [22000, 2]] as const) {
      const png = PNG.sync.read(encodePng(w, h, 42));
      expect([png.width, png.height]).toEqual([w, h]);
    }
  });

  it("draws the same pixels for the same key and other pixels for another key", () => {
    const a = encodePng(64, 48, 1);
    expect(encodePng(64, 48, 1).equals(a)).toBe(true);
    const b = PNG.sync.read(encodePng(64, 48, 2)).data;
    expect(Buffer.compare(PNG.sync.read(a).data, b)).not.toBe(0);
  });

  it("embeds text chunks, UTF-8 ones as iTXt", () => {
    const buf = encodePng(8, 8, 3, { prompt: '{"6": "日本"}', workflow: "{}" });
    expect(buf.includes(Buffer.from("iTXtprompt"))).toBe(true);
    expect(buf.includes(Buffer.from("tEXtworkflow"))).toBe(true);
    expect(pngSize(buf)).toEqual({ width: 8, height: 8 });
    expect(pngSize(Buffer.from("not a png at all, clearly"))).toBeNull();
  });
});

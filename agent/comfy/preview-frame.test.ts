import { describe, expect, test } from "vitest";
import { parsePreviewFrame } from "./preview-frame.ts";

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

describe("parsePreviewFrame (server.py's binary frames)", () => {
  test("PREVIEW_IMAGE: type 1, then 1 JPEG / 2 PNG, then the bytes; no prompt id", () => {
    expect(parsePreviewFrame(Buffer.concat([u32(1), u32(2), image]))).toEqual({ promptId: null, nodeId: null, contentType: "image/png", bytes: image });
    expect(parsePreviewFrame(Buffer.concat([u32(1), u32(1), image]))?.contentType).toBe("image/jpeg");
    expect(parsePreviewFrame(Buffer.concat([u32(1), u32(9), image]))).toBeNull();
  });

  test("PREVIEW_IMAGE_WITH_METADATA: type 4, metadata length, JSON naming the prompt and node, then the bytes", () => {
    const meta = Buffer.from(JSON.stringify({ node_id: "3", display_node_id: "3", prompt_id: "p-1", image_type: "image/webp" }));
    expect(parsePreviewFrame(Buffer.concat([u32(4), u32(meta.length), meta, image]))).toEqual({ promptId: "p-1", nodeId: "3", contentType: "image/webp", bytes: image });
  });

  test("anything else is not a preview: other event types, short or lying frames, bad metadata", () => {
    expect(parsePreviewFrame(Buffer.concat([u32(3), u32(2), image]))).toBeNull();
    expect(parsePreviewFrame(Buffer.from([0, 0, 0, 1]))).toBeNull();
    expect(parsePreviewFrame(Buffer.concat([u32(4), u32(9999), image]))).toBeNull();
    expect(parsePreviewFrame(Buffer.concat([u32(4), u32(3), Buffer.from("{{{"), image]))).toBeNull();
  });
});

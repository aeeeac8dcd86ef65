/** A live preview ComfyUI sent as a binary WebSocket frame. */
export interface ComfyPreview {
  /** Named only by the metadata form of the frame; otherwise the prompt running now. */
  promptId: string | null;
  nodeId: string | null;
  contentType: "image/jpeg" | "image/png" | "image/webp";
  bytes: Buffer;
}

// server.py's BinaryEventTypes: every binary frame starts with one, a big-endian u32.
const PREVIEW_IMAGE = 1;
const PREVIEW_IMAGE_WITH_METADATA = 4;
// The image-type word of a PREVIEW_IMAGE frame (send_image: 1 JPEG, 2 PNG).
const LEGACY_TYPES: Record<number, ComfyPreview["contentType"]> = { 1: "image/jpeg", 2: "image/png" };
const TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);

/** Reads a preview frame (either form); null for any other binary frame or a malformed one. */
export function parsePreviewFrame(frame: Buffer): ComfyPreview | null {
  if (frame.length < 8) return null;
  const event = frame.readUInt32BE(0);
  if (event === PREVIEW_IMAGE) {
    const contentType = LEGACY_TYPES[frame.readUInt32BE(4)];
    return contentType ? { promptId: null, nodeId: null, contentType, bytes: frame.subarray(8) } : null;
  }
  if (event !== PREVIEW_IMAGE_WITH_METADATA) return null;
  const metaLength = frame.readUInt32BE(4);
  if (metaLength > frame.length - 8) return null;
  let meta: { prompt_id?: unknown; node_id?: unknown; image_type?: unknown };
  try {
    meta = JSON.parse(frame.subarray(8, 8 + metaLength).toString("utf8")) as typeof meta;
  } catch {
    return null;
  }
  const type = typeof meta.image_type === "string" ? meta.image_type : "";
  if (!TYPES.has(type)) return null;
  return {
    promptId: typeof meta.prompt_id === "string" ? meta.prompt_id : null,
    nodeId: typeof meta.node_id === "string" ? meta.node_id : null,
    contentType: type as ComfyPreview["contentType"],
    bytes: frame.subarray(8 + metaLength),
  };
}

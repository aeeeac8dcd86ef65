import { imageSize } from "image-size";
import { ApiError } from "../../shared/errors.ts";
import type { AppContext } from "../http/context.ts";
import { imageBodyHeaders } from "../routes/uploads.ts";
import { peekBody } from "./image-header.ts";

export interface StoredOutput {
  content_type: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
}

const hex = (buf: ArrayBuffer): string => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Streams an agent's output into R2 under `key` (declared image type, exact Content-Length) and
 * learns on the way what a client may want to know without downloading it: its SHA-256 (hashed
 * as the bytes pass) and, read from its header, its dimensions.
 */
export async function storeOutputBody(c: AppContext, key: string, customMetadata: Record<string, string>): Promise<StoredOutput> {
  const { contentType, length } = imageBodyHeaders(c, c.get("config").MAX_UPLOAD_BYTES);
  if (!c.req.raw.body) throw new ApiError("bad_request", "The upload is empty.");
  const { head, whole } = await peekBody(c.req.raw.body, length);
  let width: number | null = null;
  let height: number | null = null;
  try {
    const size = imageSize(head);
    width = size.width ?? null;
    height = size.height ?? null;
  } catch {
    // Not an image header it can read: stored all the same, without dimensions.
  }
  const [toStore, toHash] = whole.tee();
  const stream = new FixedLengthStream(length);
  toStore.pipeTo(stream.writable).catch(() => undefined);
  const digest = new crypto.DigestStream("SHA-256");
  const hashed = toHash.pipeTo(digest).then(() => digest.digest);
  try {
    await c.env.FILES.put(key, stream.readable, { httpMetadata: { contentType }, customMetadata });
  } catch {
    throw new ApiError("bad_request", `The body did not match its Content-Length of ${length} bytes.`);
  }
  return { content_type: contentType, bytes: length, sha256: hex(await hashed), width, height };
}

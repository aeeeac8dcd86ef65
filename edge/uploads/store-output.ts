import { imageSize } from "image-size";
import { ApiError } from "../../shared/errors.ts";
import { bytesToHex } from "../auth/keys.ts";
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

/** An output's body as read before it is stored: its declared type and length, first bytes, dimensions. */
export interface OutputBody {
  contentType: string;
  length: number;
  head: Uint8Array;
  /** The head again followed by the rest of the body. */
  whole: ReadableStream<Uint8Array>;
  /** The SHA-256 (hex) when the head is the whole body, else null (hashed as it streams into R2). */
  sha256: Promise<string> | null;
  width: number | null;
  height: number | null;
}

/**
 * Checks an agent's output headers (declared image type, exact Content-Length) and reads its
 * start, writing nothing: it may run while the queue is asked whether the lease may upload. An
 * output no larger than the header read (HEADER_BYTES) is then in hand whole and hashed at once.
 */
export async function readOutputBody(c: AppContext): Promise<OutputBody> {
  const { contentType, length } = imageBodyHeaders(c, c.get("config").MAX_UPLOAD_BYTES);
  if (!c.req.raw.body) throw new ApiError("bad_request", "The upload is empty.");
  const { head, whole, ended } = await peekBody(c.req.raw.body, length);
  let width: number | null = null;
  let height: number | null = null;
  try {
    const size = imageSize(head);
    width = size.width ?? null;
    height = size.height ?? null;
  } catch {
    // Not an image header it can read: stored all the same, without dimensions.
  }
  const inHand = ended && head.byteLength === length;
  const sha256 = inHand ? crypto.subtle.digest("SHA-256", head).then(bytesToHex) : null;
  // Settled even if the caller never asks (a refused upload): no unhandled rejection.
  sha256?.catch(() => undefined);
  return { contentType, length, head, whole, sha256, width, height };
}

/**
 * Stores an output read by readOutputBody into R2 under `key` and learns on the way what a client
 * may want to know without downloading it: its SHA-256 (hashed as the bytes pass) and, read from
 * its header, its dimensions. A body already in hand whole is stored from memory, which spares the
 * edge a JS-driven stream, a tee and a second pipe per output.
 */
export async function storeOutputBody(c: AppContext, key: string, customMetadata: Record<string, string>, body: OutputBody): Promise<StoredOutput> {
  const { contentType, length, width, height } = body;
  if (body.sha256) {
    await putOrRefuse(c, key, body.head, contentType, customMetadata, length);
    return { content_type: contentType, bytes: length, sha256: await body.sha256, width, height };
  }
  const [toStore, toHash] = body.whole.tee();
  const stream = new FixedLengthStream(length);
  toStore.pipeTo(stream.writable).catch(() => undefined);
  const digest = new crypto.DigestStream("SHA-256");
  const hashed = toHash.pipeTo(digest).then(() => digest.digest);
  await putOrRefuse(c, key, stream.readable, contentType, customMetadata, length);
  return { content_type: contentType, bytes: length, sha256: bytesToHex(await hashed), width, height };
}

async function putOrRefuse(
  c: AppContext,
  key: string,
  body: ReadableStream<Uint8Array> | Uint8Array,
  contentType: string,
  customMetadata: Record<string, string>,
  length: number,
): Promise<void> {
  try {
    await c.env.FILES.put(key, body, { httpMetadata: { contentType }, customMetadata });
  } catch {
    throw new ApiError("bad_request", `The body did not match its Content-Length of ${length} bytes.`);
  }
}

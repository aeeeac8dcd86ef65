import { imageSize } from "image-size";
import { ApiError } from "../../shared/errors.ts";

/** The image types uploads accept, by the name image-size gives the format it detects. */
const DETECTED_TYPE: Record<string, string> = { png: "image/png", jpg: "image/jpeg", webp: "image/webp", gif: "image/gif" };

/**
 * How far into a file its dimensions must be found. PNG's IHDR, GIF's screen descriptor and
 * WebP's VP8/VP8L/VP8X header sit in the first bytes; a JPEG's SOF follows its EXIF and ICC
 * segments, which stay well under this in files cameras and editors write.
 */
export const HEADER_BYTES = 512 * 1024;

export interface ImageDimensions {
  width: number;
  height: number;
}

/**
 * Reads an image's dimensions from its first bytes (never decoding pixels) and checks that the
 * bytes are the type the client declared and within the pixel limit.
 */
export function checkImageHeader(head: Uint8Array, declaredType: string, maxPixels: number): ImageDimensions {
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(head);
  } catch {
    throw new ApiError("unsupported_media_type", `The bytes are not a ${declaredType} image whose size can be read from its first ${HEADER_BYTES} bytes.`);
  }
  const actual = size.type ? DETECTED_TYPE[size.type] : undefined;
  if (actual !== declaredType) {
    throw new ApiError("unsupported_media_type", `The bytes are ${actual ?? `a ${size.type ?? "unknown"} file`}, not the ${declaredType} the Content-Type claims.`);
  }
  const { width, height } = size;
  if (!width || !height) throw new ApiError("unsupported_media_type", "The image header declares a zero width or height.");
  if (width * height > maxPixels) {
    throw new ApiError(
      "image_too_large",
      `The image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels} (MAX_INPUT_PIXELS). Scale it down before uploading.`,
    );
  }
  return { width, height };
}

/**
 * Reads the start of a body (up to HEADER_BYTES, or all of a shorter one) and returns it with a
 * stream that yields the same bytes again followed by the rest, so the whole body can still be
 * stored without being held in memory. `ended`: the body ended within the head (a declared
 * length of at most HEADER_BYTES is read one step further to learn that), so `head` is all of it.
 */
export async function peekBody(
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<{ head: Uint8Array; whole: ReadableStream<Uint8Array>; ended: boolean }> {
  const reader = body.getReader();
  const want = Math.min(length, HEADER_BYTES);
  const chunks: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  const readChunk = async () => {
    const { done, value } = await reader.read();
    if (done) ended = true;
    else {
      chunks.push(value);
      have += value.byteLength;
    }
  };
  while (!ended && have < want) await readChunk();
  if (!ended && have === length && length <= HEADER_BYTES) await readChunk();
  const head = new Uint8Array(have);
  let at = 0;
  for (const c of chunks) {
    head.set(c, at);
    at += c.byteLength;
  }
  let replayed = false;
  const whole = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!replayed) {
        replayed = true;
        if (head.byteLength) controller.enqueue(head);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { head, whole, ended };
}

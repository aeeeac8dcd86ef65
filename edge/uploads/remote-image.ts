import { z } from "zod";
import { isApiError } from "../../shared/errors.ts";
import { readLimited } from "../http/body.ts";
import { checkDeliveryTarget, type TargetPolicy } from "../webhooks/target.ts";
import type { DohFetch } from "../webhooks/resolve.ts";

/** An `image` parameter given as a link or inline instead of an upload id. */
export const ImageSourceSchema = z.union([
  z.strictObject({ url: z.string().min(1).max(2048) }),
  z.strictObject({ base64: z.string().min(1), content_type: z.enum(["image/png", "image/jpeg", "image/webp", "image/gif"]) }),
]);
export type ImageSource = z.infer<typeof ImageSourceSchema>;

export const MAX_IMAGE_REDIRECTS = 3;
const FETCH_TIMEOUT_MS = 15_000;

/** Why an image could not be had: a sentence for the parameter's error. */
export class ImageSourceError extends Error {}

/** Inline bytes: standard or URL-safe base64, padding optional, within `limit` bytes decoded. */
export function decodeBase64Image(text: string, limit: number): Uint8Array {
  const clean = text.replace(/^data:[^,]*,/, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw new ImageSourceError("base64 holds characters outside the base64 alphabet");
  if (Math.floor((clean.length * 3) / 4) > limit + 3) throw new ImageSourceError(`the image is larger than ${limit} bytes (MAX_UPLOAD_BYTES)`);
  let binary: string;
  try {
    binary = atob(clean.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw new ImageSourceError("base64 does not decode");
  }
  if (binary.length === 0) throw new ImageSourceError("the image is empty");
  if (binary.length > limit) throw new ImageSourceError(`the image is larger than ${limit} bytes (MAX_UPLOAD_BYTES)`);
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

async function readCapped(res: Response, limit: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(res, limit);
  } catch (e) {
    if (isApiError(e) && e.code === "body_too_large") throw new ImageSourceError(`the image is larger than ${limit} bytes (MAX_UPLOAD_BYTES)`);
    throw e;
  }
  if (bytes.byteLength === 0) throw new ImageSourceError("the image is empty");
  return bytes;
}

/**
 * Fetches an image once, by the webhook rules (http(s) only, no private or special-use hosts,
 * names resolved and checked where a resolver is set), following at most three redirects and
 * checking every hop the same way. Returns the bytes and the type the server declared.
 */
export async function fetchImage(url: string, policy: TargetPolicy, limit: number, fetcher: DohFetch = fetch): Promise<{ bytes: Uint8Array; contentType: string }> {
  let target = url;
  for (let hop = 0; ; hop++) {
    const verdict = await checkDeliveryTarget(target, policy, fetcher);
    if (!verdict.ok) throw new ImageSourceError(`${hop === 0 ? "the URL" : `redirect ${hop}`} ${verdict.reason}`);
    let res: Response;
    try {
      res = await fetcher(target, { redirect: "manual", headers: { accept: "image/*", "user-agent": "comfy-edge-inputs/1" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch {
      throw new ImageSourceError("the server could not be reached (or did not answer within 15 s)");
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      await res.body?.cancel();
      if (hop >= MAX_IMAGE_REDIRECTS) throw new ImageSourceError(`more than ${MAX_IMAGE_REDIRECTS} redirects`);
      target = new URL(res.headers.get("location")!, target).toString();
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new ImageSourceError(`the server answered HTTP ${res.status}`);
    }
    const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    return { bytes: await readCapped(res, limit), contentType };
  }
}

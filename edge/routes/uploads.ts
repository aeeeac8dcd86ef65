import { z } from "zod";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;

const UploadResponseSchema = z.object({
  upload_id: z.string().describe("Pass as the value of an `image` parameter"),
  content_type: z.string(),
  bytes: z.number(),
});

/** Checks the declared type and length of an image body before a byte is stored. */
export function imageBodyHeaders(c: AppContext, limit: number): { contentType: string; length: number } {
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!(IMAGE_TYPES as readonly string[]).includes(contentType)) {
    throw new ApiError("unsupported_media_type", `Send the image with Content-Type ${IMAGE_TYPES.join(", ")} (got "${contentType || "none"}").`);
  }
  const declared = c.req.header("content-length");
  if (declared === undefined || !/^\d+$/.test(declared)) {
    throw new ApiError("bad_request", "Content-Length is required for uploads.");
  }
  const length = Number(declared);
  if (length > limit) throw new ApiError("body_too_large", `The file is ${length} bytes; the limit is ${limit} bytes.`);
  if (length === 0) throw new ApiError("bad_request", "The upload is empty.");
  return { contentType, length };
}

/**
 * Streams an image request body into R2 under `key` after checking its type and declared
 * length; the stored object is exactly Content-Length bytes or the put fails.
 */
export async function storeImageBody(c: AppContext, key: string, customMetadata: Record<string, string>): Promise<{ contentType: string; length: number }> {
  const { contentType, length } = imageBodyHeaders(c, c.get("config").MAX_UPLOAD_BYTES);
  const stream = new FixedLengthStream(length);
  c.req.raw.body!.pipeTo(stream.writable).catch(() => undefined);
  try {
    await c.env.FILES.put(key, stream.readable, { httpMetadata: { contentType }, customMetadata });
  } catch {
    throw new ApiError("bad_request", `The body did not match its Content-Length of ${length} bytes.`);
  }
  return { contentType, length };
}

async function createUpload(c: AppContext): Promise<Response> {
  const uploadId = `upl_${[...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const { contentType, length } = await storeImageBody(c, `in/${uploadId}`, { owner: c.get("principal").name });
  return c.json({ upload_id: uploadId, content_type: contentType, bytes: length }, 201);
}

/** Every image a job names must be an upload of the same key's owner. */
export async function checkImageInputs(c: AppContext, images: { param: string; upload_id: string }[]): Promise<void> {
  const owner = c.get("principal").name;
  const role = c.get("principal").role;
  for (const img of images) {
    const head = await c.env.FILES.head(`in/${img.upload_id}`);
    if (!head || (role !== "admin" && head.customMetadata?.owner !== owner)) {
      throw new ApiError("invalid_params", `Upload ${img.upload_id} does not exist (or is not yours); upload the image with POST /v1/uploads first.`, [
        { path: `params.${img.param}`, rule: "exists", message: `no upload ${img.upload_id} for this key` },
      ]);
    }
  }
}

export const uploadRoutes = defineRoutes([
  {
    method: "POST", path: "/v1/uploads", auth: ["client"], tag: "jobs",
    summary: "Upload an input image (raw body, Content-Type image/png|jpeg|webp|gif, Content-Length required) for an `image` parameter.",
    responses: { 201: { description: "Stored", schema: UploadResponseSchema }, 413: { description: "Too large", schema: ErrorBodySchema }, 415: { description: "Not an image type", schema: ErrorBodySchema } },
    handler: createUpload,
  },
]);

import { z } from "zod";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import type { AppContext } from "../http/context.ts";
import { defineRoutes } from "../http/route.ts";
import type { Workflow } from "../../shared/manifest/schema.ts";
import { imageBudgetError } from "../../shared/manifest/params.ts";
import { bytesToHex } from "../auth/keys.ts";
import { checkImageHeader, peekBody } from "../uploads/image-header.ts";
import { uploadRegistry } from "../uploads/stub.ts";

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;

const UploadResponseSchema = z.object({
  upload_id: z.string().describe("Pass as the value of an `image` parameter"),
  content_type: z.string(),
  bytes: z.number(),
  width: z.number().int().describe("Read from the image's header"),
  height: z.number().int().describe("Read from the image's header"),
});

/** "upl_" and 24 random hex characters (the form `image` parameters accept). */
export function newUploadId(): string {
  return `upl_${bytesToHex(crypto.getRandomValues(new Uint8Array(12)))}`;
}

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
 * A client's input image: admitted by the uploads registry (rate limit, per-key quota), its
 * header read before a byte is stored (declared type, dimensions, MAX_INPUT_PIXELS), then
 * streamed to R2 and recorded with its size, so a job's pixel budget can be checked at submit.
 */
async function createUpload(c: AppContext): Promise<Response> {
  const config = c.get("config");
  const owner = c.get("principal").name;
  const { contentType, length } = imageBodyHeaders(c, config.MAX_UPLOAD_BYTES);
  const uploadId = newUploadId();
  const registry = uploadRegistry(c.env);
  const admitted = await registry.reserveUpload(uploadId, owner, length);
  if (!admitted.ok) {
    throw new ApiError(admitted.code, admitted.message, undefined, admitted.retry_after_s ? { "Retry-After": String(admitted.retry_after_s) } : undefined);
  }
  try {
    if (!c.req.raw.body) throw new ApiError("bad_request", "The upload is empty.");
    const { head, whole } = await peekBody(c.req.raw.body, length);
    const { width, height } = checkImageHeader(head, contentType, config.MAX_INPUT_PIXELS);
    const stream = new FixedLengthStream(length);
    whole.pipeTo(stream.writable).catch(() => undefined);
    try {
      await c.env.FILES.put(`in/${uploadId}`, stream.readable, {
        httpMetadata: { contentType },
        customMetadata: { owner, width: String(width), height: String(height) },
      });
    } catch {
      throw new ApiError("bad_request", `The body did not match its Content-Length of ${length} bytes.`);
    }
    await registry.confirmUpload(uploadId, contentType, width, height);
    return c.json({ upload_id: uploadId, content_type: contentType, bytes: length, width, height }, 201);
  } catch (e) {
    await registry.dropUpload(uploadId);
    throw e;
  }
}

/**
 * Every image a job names must be a recorded upload of the same key (any key's, for an admin).
 * Each is held for the job (so retention keeps it while the job exists) and the workflow's
 * pixel budget is checked against the images' recorded sizes. Returns the release for a job
 * that is not stored after all.
 */
export async function holdImageInputs(
  c: AppContext,
  workflow: Workflow,
  values: Record<string, unknown>,
  images: { param: string; upload_id: string }[],
): Promise<() => Promise<void>> {
  if (images.length === 0) return async () => undefined;
  const principal = c.get("principal");
  const registry = uploadRegistry(c.env);
  const ids = images.map((i) => i.upload_id);
  const held = await registry.holdUploads(ids, principal.role === "admin" ? null : principal.name);
  if (!held.ok) {
    const param = images.find((i) => i.upload_id === held.message)?.param ?? images[0]!.param;
    throw new ApiError("invalid_params", `Upload ${held.message} does not exist (or is not yours); upload the image with POST /v1/uploads first.`, [
      { path: `params.${param}`, rule: "exists", message: `no upload ${held.message} for this key` },
    ]);
  }
  const release = () => registry.releaseUploads(ids);
  const overBudget = imageBudgetError(workflow, values, held.value);
  if (overBudget) {
    await release();
    throw new ApiError("budget_exceeded", overBudget.message, [overBudget]);
  }
  return release;
}

export const uploadRoutes = defineRoutes([
  {
    method: "POST", path: "/v1/uploads", auth: ["client"], tag: "jobs",
    summary:
      "Upload an input image (raw body, Content-Type image/png|jpeg|webp|gif matching the bytes, Content-Length required) for an `image` parameter. " +
      "At most MAX_INPUT_PIXELS pixels; per-key count and byte quotas; deleted UPLOAD_TTL_S after upload unless a job still holds it.",
    responses: { 201: { description: "Stored", schema: UploadResponseSchema }, 413: { description: "Too large", schema: ErrorBodySchema }, 415: { description: "Not an image type, or not the type declared", schema: ErrorBodySchema }, 422: { description: "Over MAX_INPUT_PIXELS", schema: ErrorBodySchema }, 429: { description: "Rate limited or over the per-key quota", schema: ErrorBodySchema } },
    handler: createUpload,
  },
]);

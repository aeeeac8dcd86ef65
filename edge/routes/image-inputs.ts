import { ApiError } from "../../shared/errors.ts";
import type { Workflow } from "../../shared/manifest/schema.ts";
import type { AppContext } from "../http/context.ts";
import { checkImageHeader } from "../uploads/image-header.ts";
import { decodeBase64Image, fetchImage, ImageSourceError, ImageSourceSchema, type ImageSource } from "../uploads/remote-image.ts";
import { uploadRegistry } from "../uploads/stub.ts";
import { webhookPolicy } from "../webhooks/target.ts";
import { IMAGE_TYPES, newUploadId } from "./uploads.ts";

/**
 * Stores an image the edge obtained itself (a URL it fetched, inline base64) exactly as an
 * upload: admitted by the registry (quota, rate limit), header checked (declared type,
 * dimensions, MAX_INPUT_PIXELS), kept in R2 and recorded. Returns its upload id.
 */
async function storeImageBytes(c: AppContext, bytes: Uint8Array, contentType: string): Promise<string> {
  const config = c.get("config");
  const owner = c.get("principal").name;
  const { width, height } = checkImageHeader(bytes.subarray(0, 512 * 1024), contentType, config.MAX_INPUT_PIXELS);
  const uploadId = newUploadId();
  const registry = uploadRegistry(c.env);
  const admitted = await registry.reserveUpload(uploadId, owner, bytes.byteLength);
  if (!admitted.ok) throw new ApiError(admitted.code, admitted.message, undefined, admitted.retry_after_s ? { "Retry-After": String(admitted.retry_after_s) } : undefined);
  try {
    await c.env.FILES.put(`in/${uploadId}`, bytes, { httpMetadata: { contentType }, customMetadata: { owner, width: String(width), height: String(height) } });
    await registry.confirmUpload(uploadId, contentType, width, height);
    return uploadId;
  } catch (e) {
    await registry.dropUpload(uploadId);
    throw e;
  }
}

async function obtain(c: AppContext, source: ImageSource): Promise<{ bytes: Uint8Array; contentType: string }> {
  const config = c.get("config");
  if ("base64" in source) return { bytes: decodeBase64Image(source.base64, config.MAX_UPLOAD_BYTES), contentType: source.content_type };
  const got = await fetchImage(source.url, webhookPolicy(config), config.MAX_UPLOAD_BYTES);
  if (!(IMAGE_TYPES as readonly string[]).includes(got.contentType)) {
    throw new ImageSourceError(`the server sent Content-Type "${got.contentType || "none"}", not one of ${IMAGE_TYPES.join(", ")}`);
  }
  return got;
}

/**
 * The params with every `image` given as `{url}` or `{base64, content_type}` replaced by the
 * upload id of the image the edge fetched or decoded and stored: the job then holds it as it
 * holds an upload. A source that cannot be had is a 422 naming the parameter and the reason,
 * before anything is queued.
 */
export async function resolveImageInputs(c: AppContext, workflow: Workflow, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out = { ...params };
  for (const [name, spec] of Object.entries(workflow.params)) {
    const value = params[name];
    if (spec.type !== "image" || typeof value !== "object" || value === null) continue;
    const source = ImageSourceSchema.safeParse(value);
    if (!source.success) {
      throw new ApiError("invalid_params", `Parameter "${name}" takes an upload id, {"url": "https://…"} or {"base64": "…", "content_type": "image/png"}.`, [
        { path: `params.${name}`, rule: "format", message: 'an upload id, {"url"} or {"base64", "content_type"}' },
      ]);
    }
    out[name] = await storeImageSource(c, source.data, `params.${name}`, `"${name}"`);
  }
  return out;
}

/**
 * Fetches or decodes an image given as `{url}` or `{base64, content_type}` and stores it as an
 * upload; returns its upload id. One that cannot be had is a 422 naming `path` and the reason.
 */
export async function storeImageSource(c: AppContext, source: ImageSource, path: string, label: string): Promise<string> {
  try {
    const { bytes, contentType } = await obtain(c, source);
    return await storeImageBytes(c, bytes, contentType);
  } catch (e) {
    const why = e instanceof ImageSourceError ? e.message : e instanceof ApiError ? e.message : "it could not be stored";
    const rule = "url" in source ? "fetch" : "decode";
    throw new ApiError("input_unavailable", `The image for ${label} could not be used: ${why}.`, [{ path, rule, message: why }]);
  }
}

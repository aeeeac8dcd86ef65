import { ApiError } from "../../shared/errors.ts";
import { nodeOf } from "../../shared/manifest/graph.ts";
import type { Graph } from "../../shared/manifest/schema.ts";
import { IMAGE_FILE_INPUTS } from "../../shared/raw-graph.ts";
import type { AppContext } from "../http/context.ts";
import type { ImageInputRef } from "../queue/types.ts";
import { ImageSourceSchema, type ImageSource } from "../uploads/remote-image.ts";
import { uploadRegistry } from "../uploads/stub.ts";
import { storeImageSource } from "./image-inputs.ts";

/** Most images one raw graph may be given (as many LoadImage nodes as a sane graph has). */
export const MAX_RAW_IMAGES = 16;

const DATA_URI = /^data:(image\/(?:png|jpeg|webp|gif));base64,/i;

/** One image as given: an upload id, or a source the edge fetches or decodes first. */
type Given = { upload_id: string } | { source: ImageSource };

function refused(path: string, rule: string, message: string): ApiError {
  return new ApiError("invalid_body", `${path}: ${message}.`, [{ path, rule, message }]);
}

/** Reads one `images` value: "upl_…", "https://…", "data:image/png;base64,…", {url} or {base64, content_type}. */
function given(value: unknown, path: string): Given {
  if (typeof value === "string") {
    if (/^https?:\/\//i.test(value)) return { source: { url: value } };
    const data = DATA_URI.exec(value);
    if (data) return { source: { base64: value, content_type: data[1]!.toLowerCase() as "image/png" } };
    if (/^[A-Za-z0-9_-]{1,64}$/.test(value)) return { upload_id: value };
  } else {
    const parsed = ImageSourceSchema.safeParse(value);
    if (parsed.success) return { source: parsed.data };
  }
  throw refused(path, "format", 'must be an upload id, an http(s) URL, a data:image/…;base64, URI, {"url"} or {"base64", "content_type"}');
}

/**
 * The shape of a raw graph's `images`, checked before anything walks the body (the
 * Idempotency-Key hash does): at most MAX_RAW_IMAGES entries, each one of the forms `given`
 * reads. A value nested any deeper is refused here, naming its entry.
 */
export function checkRawImages(images: Record<string, unknown> | undefined): [string, Given][] {
  const entries = Object.entries(images ?? {});
  if (entries.length > MAX_RAW_IMAGES) throw refused("images", "max_items", `at most ${MAX_RAW_IMAGES} images (${entries.length} given)`);
  return entries.map(([nodeId, value]) => [nodeId, given(value, `images.${nodeId}`)]);
}

/**
 * The job inputs for a raw graph's `images`: each names a LoadImage-like node of the graph; URLs
 * and inline images are stored as uploads first, then every upload is held for the job (as a
 * workflow's image parameters are). Returns the inputs and the release for a job not stored.
 */
export async function rawImageInputs(c: AppContext, graph: Graph, images: Record<string, unknown> | undefined): Promise<{ inputs: ImageInputRef[]; release: () => Promise<void> }> {
  const none = { inputs: [], release: async () => undefined };
  const entries = checkRawImages(images);
  if (entries.length === 0) return none;
  // Every entry is checked before any is fetched or stored.
  const planned = entries.map(([nodeId, g]) => {
    const path = `images.${nodeId}`;
    const node = nodeOf(graph, nodeId);
    if (!node) throw refused(path, "exists", `the graph has no node "${nodeId}"`);
    const input = Object.hasOwn(IMAGE_FILE_INPUTS, node.class_type) ? IMAGE_FILE_INPUTS[node.class_type]! : null;
    if (!input) throw refused(path, "node_class", `node "${nodeId}" is a ${node.class_type}; images go to ${Object.keys(IMAGE_FILE_INPUTS).join(" or ")} nodes`);
    return { nodeId, input, path, given: g };
  });
  const inputs: ImageInputRef[] = [];
  for (const p of planned) {
    const uploadId = "upload_id" in p.given ? p.given.upload_id : await storeImageSource(c, p.given.source, p.path, `node "${p.nodeId}"`);
    inputs.push({ node_id: p.nodeId, input: p.input, upload_id: uploadId });
  }
  const principal = c.get("principal");
  const registry = uploadRegistry(c.env);
  const ids = inputs.map((i) => i.upload_id);
  const held = await registry.holdUploads(ids, principal.role === "admin" ? null : principal.name);
  if (!held.ok) {
    const at = inputs.find((i) => i.upload_id === held.message)?.node_id ?? inputs[0]!.node_id;
    throw new ApiError("invalid_body", `Upload ${held.message} does not exist (or is not yours); upload the image with POST /v1/uploads first.`, [
      { path: `images.${at}`, rule: "exists", message: `no upload ${held.message} for this key` },
    ]);
  }
  return { inputs, release: () => registry.releaseUploads(ids) };
}

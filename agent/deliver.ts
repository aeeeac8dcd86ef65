import { extname } from "node:path";
import type { JobMessage, Output, UploadGrant } from "../shared/protocol.ts";
import type { ComfyClient, Conversion } from "./comfy/client.ts";
import type { ProducedFile } from "./comfy/outcome.ts";
import { uploadFile, type UploadOptions, type UploadSource } from "./upload.ts";

export type OutputFormat = JobMessage["output_format"];

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".bmp": "image/bmp",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mov": "video/quicktime",
  ".mkv": "video/x-matroska",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".flac": "audio/flac",
  ".ogg": "audio/ogg",
  ".opus": "audio/opus",
  ".json": "application/json",
  ".txt": "text/plain",
  ".glb": "model/gltf-binary",
};

/** Still images ComfyUI's `/view?preview=` can re-encode (PIL opens them; a GIF or an animated WebP would lose its frames). */
const CONVERTIBLE = new Set([".png", ".jpg", ".jpeg", ".webp", ".bmp"]);

/** Whether (and how) to ask ComfyUI to re-encode a file for the requested output format. */
export function conversionFor(file: ProducedFile, format: OutputFormat): Conversion | undefined {
  if (format.type === "png" || file.animated) return undefined;
  const ext = extname(file.filename).toLowerCase();
  if (!CONVERTIBLE.has(ext)) return undefined;
  if ((format.type === "jpeg" && (ext === ".jpg" || ext === ".jpeg")) || (format.type === "webp" && ext === ".webp")) return undefined;
  return { format: format.type, quality: format.quality };
}

export function contentTypeFor(filename: string): string {
  return CONTENT_TYPES[extname(filename).toLowerCase()] ?? "application/octet-stream";
}

/** The name the uploaded file goes by: the ComfyUI name, with the extension of a conversion. */
export function deliveredName(file: ProducedFile, convert: Conversion | undefined): string {
  if (!convert) return file.filename;
  const ext = extname(file.filename);
  return `${file.filename.slice(0, file.filename.length - ext.length)}.${convert.format === "jpeg" ? "jpg" : convert.format}`;
}

export type DeliverOptions = UploadOptions & {
  onFileDone?: (done: number, total: number) => void;
};

/**
 * Streams every produced file from ComfyUI's `/view` to its signed upload URL, one at a
 * time (index 0, 1, ...), and returns the `complete` outputs. Files beyond the grant's
 * `max_files` make the upload fail rather than silently vanish.
 */
export async function deliverOutputs(
  comfy: ComfyClient,
  files: ProducedFile[],
  grant: UploadGrant,
  format: OutputFormat,
  opts: DeliverOptions = {},
): Promise<Output[]> {
  const outputs: Output[] = [];
  for (const [index, file] of files.entries()) {
    const convert = conversionFor(file, format);
    const filename = deliveredName(file, convert);
    const open = async (): Promise<UploadSource> => {
      const viewed = await comfy.view(file, convert, opts.signal);
      const header = viewed.contentType?.split(";")[0]?.trim();
      const contentType = header && header !== "application/octet-stream" ? header : contentTypeFor(filename);
      return { body: viewed.body, bytes: viewed.bytes, contentType };
    };
    let contentType = contentTypeFor(filename);
    const { key, bytes } = await uploadFile(
      grant,
      index,
      async () => {
        const source = await open();
        contentType = source.contentType;
        return source;
      },
      opts,
    );
    outputs.push({ key, content_type: contentType, bytes, filename: filename.slice(0, 512), node_id: file.node_id.slice(0, 128) });
    opts.onFileDone?.(index + 1, files.length);
  }
  return outputs;
}

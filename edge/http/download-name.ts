const INLINE_TYPES = new Set(["image/png", "image/jpeg", "image/webp", "image/gif"]);
const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

const mediaType = (contentType: string | undefined): string => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/**
 * A stored file's download name, built by the edge from its key (never from anything a client
 * or an agent chose): `out/<task>/<lease>/<n>` → `<task>-<n>.<ext>`, `in/<upload>` → `<upload>.<ext>`.
 * The task view shows the same name the download's Content-Disposition carries.
 */
export function downloadName(key: string, contentType: string | undefined): string {
  const parts = key.split("/");
  const stem = key.startsWith("out/") && parts.length === 4 ? `${parts[1]}-${parts[3]}` : parts.at(-1)!;
  const safe = stem.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 120) || "file";
  return `${safe}.${EXTENSIONS[mediaType(contentType)] ?? "bin"}`;
}

/** Images are shown inline; anything else is an attachment. */
export function contentDisposition(key: string, contentType: string | undefined): string {
  return `${INLINE_TYPES.has(mediaType(contentType)) ? "inline" : "attachment"}; filename="${downloadName(key, contentType)}"`;
}

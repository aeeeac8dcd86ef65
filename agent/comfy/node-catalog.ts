import { createHash } from "node:crypto";
import type { NodeCatalog } from "../../shared/protocol.ts";

/** The protocol's bounds (NodeCatalogSchema): longer names, and names past the count, are left out. */
export const MAX_CLASSES = 20_000;
export const MAX_CLASS_NAME = 256;
const MAX_VERSION = 64;

/** The catalog's fingerprint: sha256 (hex) of the class names, sorted, joined by "\n". */
export function catalogDigest(sortedClasses: readonly string[]): string {
  return createHash("sha256").update(sortedClasses.join("\n")).digest("hex");
}

/**
 * A rig's node catalog as the edge gets it: the class names (unique, sorted by code unit, within
 * the protocol's bounds), their digest, and ComfyUI's version (null when `/system_stats` has none).
 */
export function nodeCatalog(classes: Iterable<string>, comfyuiVersion: string | null): NodeCatalog {
  const names = [...new Set(classes)].filter((c) => c.length > 0 && c.length <= MAX_CLASS_NAME).sort().slice(0, MAX_CLASSES);
  return { classes: names, digest: catalogDigest(names), comfyui_version: comfyuiVersion === null ? null : comfyuiVersion.slice(0, MAX_VERSION) };
}

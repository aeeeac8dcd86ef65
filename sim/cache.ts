import { createHash } from "node:crypto";
import type { Graph } from "./validate.ts";

/** What a finished node leaves behind: its outputs for downstream nodes, and its UI output. */
export interface CachedNode {
  readonly outputs: readonly unknown[];
  readonly ui: Record<string, unknown> | null;
}

function isLink(v: unknown): v is [string, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "number";
}

/**
 * ComfyUI's classic output cache: a node's key is its class, its `IS_CHANGED` value and its
 * inputs, with links standing for the whole upstream signature, so the same work under other
 * node ids still hits. Each prompt keeps only the entries it uses (`clean_unused`), so a cache
 * hit means "the previous prompt ran this exact node".
 */
export class NodeCache {
  private entries = new Map<string, CachedNode>();

  /** The cache key of every node in `prompt`; `isChanged` is the node's `IS_CHANGED` token. */
  signatures(prompt: Graph, isChanged: (id: string) => string): Map<string, string> {
    const sigs = new Map<string, string>();
    const visiting = new Set<string>();
    const sign = (id: string): string => {
      const known = sigs.get(id);
      if (known) return known;
      const node = prompt[id];
      if (!node || visiting.has(id)) return `missing:${id}`;
      visiting.add(id);
      const inputs = node.inputs ?? {};
      const parts: unknown[] = [node.class_type, isChanged(id)];
      for (const key of Object.keys(inputs).sort()) {
        const v = inputs[key];
        parts.push(isLink(v) ? [key, "link", sign(v[0]), v[1]] : [key, v]);
      }
      visiting.delete(id);
      const sig = createHash("sha1").update(JSON.stringify(parts)).digest("base64");
      sigs.set(id, sig);
      return sig;
    };
    for (const id of Object.keys(prompt)) sign(id);
    return sigs;
  }

  /** Drops every entry the coming prompt does not use. */
  retain(used: Iterable<string>): void {
    const keep = new Set(used);
    for (const key of this.entries.keys()) if (!keep.has(key)) this.entries.delete(key);
  }

  get(sig: string | undefined): CachedNode | undefined {
    return sig === undefined ? undefined : this.entries.get(sig);
  }

  set(sig: string, value: CachedNode): void {
    this.entries.set(sig, value);
  }

  clear(): void {
    this.entries.clear();
  }
}

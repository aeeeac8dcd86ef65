import { loadCatalog, type Catalog, type Workflow } from "../shared/manifest/catalog.ts";
import { MANIFEST_FILES } from "./generated/manifests.ts";

/**
 * The manifests, parsed and validated once when the Worker starts: a mistake fails the
 * deploy (and the build step before it), never a request.
 */
export const catalog: Catalog = loadCatalog(MANIFEST_FILES);

/** A workflow by id; only the catalog's own keys (never `constructor`, `__proto__`, ...). */
export function workflowById(id: string): Workflow | undefined {
  return Object.hasOwn(catalog.workflows, id) ? catalog.workflows[id] : undefined;
}

/** Every pool some workflow names, plus the default one. */
export const POOLS: string[] = [...new Set(["default", ...Object.values(catalog.workflows).map((w) => w.pool)])].sort();

/**
 * Whether a pool exists: only pools the manifests name do. Every route checks this before it
 * addresses a queue, because addressing one creates its Durable Object (and its SQLite file).
 */
export function isKnownPool(name: string): boolean {
  return POOLS.includes(name);
}

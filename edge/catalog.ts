import { loadCatalog, type Catalog } from "../shared/manifest/catalog.ts";
import { MANIFEST_FILES } from "./generated/manifests.ts";

/**
 * The manifests, parsed and validated once when the Worker starts: a mistake fails the
 * deploy (and the build step before it), never a request.
 */
export const catalog: Catalog = loadCatalog(MANIFEST_FILES);

/** Every pool some workflow names, plus the default one. */
export const POOLS: string[] = [...new Set(["default", ...Object.values(catalog.workflows).map((w) => w.pool)])].sort();

import { modelCatalogFromText, type ModelCatalog } from "../shared/model-catalog/catalog.ts";
import type { Config } from "./env.ts";
import { MODELS_INI } from "./generated/models-ini.ts";

let cached: { text: string; catalog: ModelCatalog } | undefined;

/**
 * The models rigs may fetch on demand: MODEL_CATALOG_INI when set, else the bundled
 * install/configs/models.ini (both checked before use: configOf and the build step).
 */
export function fetchCatalog(config: Pick<Config, "MODEL_CATALOG_INI">): ModelCatalog {
  const text = config.MODEL_CATALOG_INI || MODELS_INI;
  if (cached?.text !== text) cached = { text, catalog: modelCatalogFromText(text).catalog };
  return cached.catalog;
}

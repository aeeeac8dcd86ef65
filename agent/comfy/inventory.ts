import { LOADER_INPUTS } from "../../shared/models.ts";
import type { ModelInventory } from "../../shared/protocol.ts";
import { ModelFilesSchema, ModelFoldersSchema } from "./schemas.ts";

/** Folders `/models` lists that hold no models (and can hold thousands of files). */
const NOT_MODELS = new Set(["custom_nodes", "configs"]);

/**
 * Choices loaders offer that are not files: VAELoader's `pixel_space` and its TAESD pairs, which
 * ComfyUI lists by name whatever `models/vae` holds (nodes.py `VAELoader.vae_list`).
 */
const BUILT_IN_CHOICES = new Set(["pixel_space", "taesd", "taesdxl", "taesd3", "taef1", "taef2", "None", "none"]);

/** A model file name has an extension (`x.safetensors`, `sub/x.gguf`); built-in choices have none. */
const looksLikeFile = (name: string): boolean => !BUILT_IN_CHOICES.has(name) && /\.[A-Za-z0-9]{1,12}$/.test(name.slice(name.lastIndexOf("/") + 1));

const MAX_FOLDER = 64;
const MAX_FILES = 10_000;
const MAX_NAME = 512;

type GetJson = (path: string) => Promise<unknown>;

/**
 * Model files by folder: `GET /models` then `GET /models/{folder}`; when that route is
 * missing (404) or lists nothing, the loader choices in `/object_info/{class}` for each loader
 * class (never the whole `/object_info`, megabytes on a rig with many custom nodes). Empty
 * folders are left out, and the result fits the protocol's limits.
 */
export async function readInventory(getJson: GetJson): Promise<ModelInventory> {
  const fromModels = await readModelsRoute(getJson);
  if (fromModels && Object.keys(fromModels).length > 0) return fromModels;
  const loaders = await Promise.all(
    Object.keys(LOADER_INPUTS).map(async (nodeClass) => (await getJson(`/object_info/${encodeURIComponent(nodeClass)}`)) as Record<string, unknown> | null),
  );
  return inventoryFromObjectInfo(Object.assign({}, ...loaders.filter((l) => typeof l === "object" && l !== null)));
}

async function readModelsRoute(getJson: GetJson): Promise<ModelInventory | null> {
  const folders = ModelFoldersSchema.safeParse(await getJson("/models"));
  if (!folders.success) return null;
  const wanted = folders.data.filter((f) => !NOT_MODELS.has(f) && f.length <= MAX_FOLDER);
  const lists = await Promise.all(
    wanted.map(async (folder) => {
      const files = ModelFilesSchema.safeParse(await getJson(`/models/${encodeURIComponent(folder)}`));
      return [folder, files.success ? files.data : []] as const;
    }),
  );
  const inventory: ModelInventory = {};
  for (const [folder, files] of lists) add(inventory, folder, files);
  return inventory;
}

/**
 * Reads `{Node: {input: {required: {name: [choices, opts] | ["COMBO", {options}]}}}}` for the loader
 * inputs the edge knows (shared/models.ts), under its canonical folder names (`unet`, `clip`, ...);
 * only choices that are files.
 */
export function inventoryFromObjectInfo(info: unknown): ModelInventory {
  const inventory: ModelInventory = {};
  if (typeof info !== "object" || info === null) return inventory;
  for (const [nodeClass, inputs] of Object.entries(LOADER_INPUTS)) {
    const node = (info as Record<string, unknown>)[nodeClass];
    const spec = typeof node === "object" && node !== null ? (node as { input?: unknown }).input : undefined;
    if (typeof spec !== "object" || spec === null) continue;
    for (const [inputName, folder] of Object.entries(inputs)) {
      if (NOT_MODELS.has(folder)) continue;
      const choices = choicesOf(spec, inputName).filter(looksLikeFile);
      if (choices.length) add(inventory, folder, choices);
    }
  }
  return inventory;
}

function choicesOf(spec: object, inputName: string): string[] {
  for (const group of ["required", "optional"] as const) {
    const inputs = (spec as Record<string, unknown>)[group];
    if (typeof inputs !== "object" || inputs === null) continue;
    const def = (inputs as Record<string, unknown>)[inputName];
    if (!Array.isArray(def)) continue;
    if (Array.isArray(def[0])) return strings(def[0]);
    if (def[0] === "COMBO" && typeof def[1] === "object" && def[1] !== null) {
      const options = (def[1] as { options?: unknown }).options;
      if (Array.isArray(options)) return strings(options);
    }
  }
  return [];
}

function strings(xs: unknown[]): string[] {
  return xs.filter((x): x is string => typeof x === "string");
}

function add(inventory: ModelInventory, folder: string, files: readonly string[]): void {
  const merged = new Set(inventory[folder] ?? []);
  for (const f of files) if (f.length <= MAX_NAME && merged.size < MAX_FILES) merged.add(f);
  if (merged.size > 0) inventory[folder] = [...merged];
}

import { z } from "zod";

/** A model file a graph needs: its ComfyUI models folder and its file name within it. */
export const ModelRefSchema = z.object({
  folder: z.string().describe("ComfyUI models folder, canonical name (checkpoints, loras, unet, clip, vae, ...)"),
  name: z.string().describe("File name inside that folder, possibly with subfolders"),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

/**
 * Folder names ComfyUI treats as one: it registers `diffusion_models` and `unet` (and
 * `text_encoders` and `clip`) as the same search paths, and ComfyUI-GGUF adds its own
 * `unet_gguf`/`clip_gguf` keys over them.
 */
const FOLDER_ALIASES: Record<string, string> = {
  diffusion_models: "unet",
  unet_gguf: "unet",
  text_encoders: "clip",
  clip_gguf: "clip",
  t2i_adapter: "controlnet",
};

/** The canonical name of a models folder (`diffusion_models` → `unet`, `text_encoders` → `clip`). */
export function canonicalFolder(folder: string): string {
  const lower = folder.trim().toLowerCase();
  return FOLDER_ALIASES[lower] ?? lower;
}

// ComfyUI on Windows reports subfolders with backslashes.
function sameFile(a: string, b: string): boolean {
  return a.replaceAll("\\", "/") === b.replaceAll("\\", "/");
}

/**
 * One key per model file whatever the spelling: the models folder canonical, `/` separators,
 * and the same wherever the subfolders sit (`{folder: "diffusion_models/sub", name: "x.gguf"}`,
 * `{folder: "unet", name: "sub/x.gguf"}`: `unet/sub/x.gguf`). The edge and the agent key fetches by it.
 */
export function modelKey(ref: ModelRef): string {
  return modelKeyOfPath(`${ref.folder}/${ref.name}`);
}

/** `modelKey` of a model written `folder/name`, as the protocol writes one (a job's `models`). */
export function modelKeyOfPath(path: string): string {
  const normal = path.replaceAll("\\", "/");
  const slash = normal.indexOf("/");
  // Only the first part is a ComfyUI folder name (aliased, case-free); subfolders are the disk's own names.
  return slash < 0 ? canonicalFolder(normal) : `${canonicalFolder(normal.slice(0, slash))}${normal.slice(slash)}`;
}

/** Whether an agent's inventory (files by folder, any alias) holds the model. */
export function inventoryHas(inventory: Record<string, string[]>, ref: ModelRef): boolean {
  const folder = canonicalFolder(ref.folder);
  return Object.entries(inventory).some(
    ([key, files]) => canonicalFolder(key) === folder && files.some((file) => sameFile(file, ref.name)),
  );
}

/** The refs the inventory lacks, in the order given. */
export function missingModels(inventory: Record<string, string[]>, refs: ModelRef[]): ModelRef[] {
  return refs.filter((ref) => !inventoryHas(inventory, ref));
}

/** A model as people name it: its file name, e.g. `flux1-dev-Q4_K_S.gguf`. */
export function describeModel(ref: ModelRef): string {
  return ref.name;
}

function numbered(prefix: string, suffix: string, count: number, folder: string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i + 1}${suffix}`, folder]));
}

/**
 * For each loader node class, which inputs name a model file and in which folder it lives.
 * Core ComfyUI plus the custom nodes the project installs (ComfyUI-GGUF, ComfyUI-Easy-Use).
 */
export const LOADER_INPUTS: Record<string, Record<string, string>> = {
  CheckpointLoaderSimple: { ckpt_name: "checkpoints" },
  CheckpointLoader: { config_name: "configs", ckpt_name: "checkpoints" },
  ImageOnlyCheckpointLoader: { ckpt_name: "checkpoints" },
  unCLIPCheckpointLoader: { ckpt_name: "checkpoints" },
  DiffusersLoader: { model_path: "diffusers" },
  UNETLoader: { unet_name: "unet" },
  UnetLoaderGGUF: { unet_name: "unet" },
  UnetLoaderGGUFAdvanced: { unet_name: "unet" },
  VAELoader: { vae_name: "vae" },
  CLIPLoader: { clip_name: "clip" },
  CLIPLoaderGGUF: { clip_name: "clip" },
  DualCLIPLoader: numbered("clip_name", "", 2, "clip"),
  DualCLIPLoaderGGUF: numbered("clip_name", "", 2, "clip"),
  TripleCLIPLoader: numbered("clip_name", "", 3, "clip"),
  TripleCLIPLoaderGGUF: numbered("clip_name", "", 3, "clip"),
  QuadrupleCLIPLoader: numbered("clip_name", "", 4, "clip"),
  QuadrupleCLIPLoaderGGUF: numbered("clip_name", "", 4, "clip"),
  LoraLoader: { lora_name: "loras" },
  LoraLoaderModelOnly: { lora_name: "loras" },
  "easy loraStack": numbered("lora_", "_name", 10, "loras"),
  CLIPVisionLoader: { clip_name: "clip_vision" },
  ControlNetLoader: { control_net_name: "controlnet" },
  DiffControlNetLoader: { control_net_name: "controlnet" },
  StyleModelLoader: { style_model_name: "style_models" },
  UpscaleModelLoader: { model_name: "upscale_models" },
  GLIGENLoader: { gligen_name: "gligen" },
  HypernetworkLoader: { hypernetwork_name: "hypernetworks" },
  PhotoMakerLoader: { photomaker_model_name: "photomaker" },
};

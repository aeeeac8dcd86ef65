import { z } from "zod";

/** Model files by folder, as `--models <file>` gives them: `{"loras": ["a.safetensors"], ...}`. */
export const InventorySchema = z.record(z.string().min(1), z.array(z.string().min(1)));
export type Inventory = z.infer<typeof InventorySchema>;

/** A rig like the one `install/` sets up for the project's workflows. */
export const DEFAULT_INVENTORY: Inventory = {
  checkpoints: ["v1-5-pruned-emaonly.safetensors"],
  unet: ["flux1-dev-Q4_K_S.gguf", "flux1-schnell-Q4_K_S.gguf"],
  vae: ["ae.safetensors"],
  text_encoders: ["t5-v1_1-xxl-encoder-Q5_K_M.gguf", "t5-v1_1-xxl-encoder-f16.gguf"],
  clip: ["clip_l.safetensors"],
  loras: [
    "Flux-Anime-LoRA.safetensors",
    "Flux-Dev-Real-Anime-LoRA.safetensors",
    "Flux-Ghibli-Art-LoRA.safetensors",
    "Flux-Ghibsky-Art-LoRA.safetensors",
    "Flux-Scenery-LoRA.safetensors",
    "add_detail.safetensors",
  ],
};

const PT = [".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"];

/**
 * ComfyUI's `folder_names_and_paths` (v0.3.64 plus ComfyUI-GGUF's two), in its order: which
 * inventory folders feed each one and which extensions it lists. `unet` and `clip` are legacy
 * names that only exist on disk, so `/models/unet` is a 404 there too.
 */
const FOLDERS: readonly { name: string; from: readonly string[]; ext: readonly string[] | null }[] = [
  { name: "checkpoints", from: ["checkpoints"], ext: PT },
  { name: "configs", from: ["configs"], ext: [".yaml"] },
  { name: "loras", from: ["loras"], ext: PT },
  { name: "vae", from: ["vae"], ext: PT },
  { name: "text_encoders", from: ["text_encoders", "clip"], ext: PT },
  { name: "diffusion_models", from: ["unet", "diffusion_models"], ext: PT },
  { name: "clip_vision", from: ["clip_vision"], ext: PT },
  { name: "style_models", from: ["style_models"], ext: PT },
  { name: "embeddings", from: ["embeddings"], ext: PT },
  { name: "diffusers", from: ["diffusers"], ext: null },
  { name: "vae_approx", from: ["vae_approx"], ext: PT },
  { name: "controlnet", from: ["controlnet", "t2i_adapter"], ext: PT },
  { name: "gligen", from: ["gligen"], ext: PT },
  { name: "upscale_models", from: ["upscale_models"], ext: PT },
  { name: "custom_nodes", from: ["custom_nodes"], ext: null },
  { name: "hypernetworks", from: ["hypernetworks"], ext: PT },
  { name: "photomaker", from: ["photomaker"], ext: PT },
  { name: "classifiers", from: ["classifiers"], ext: null },
  { name: "model_patches", from: ["model_patches"], ext: PT },
  { name: "audio_encoders", from: ["audio_encoders"], ext: PT },
  { name: "unet_gguf", from: ["unet", "diffusion_models"], ext: [".gguf"] },
  { name: "clip_gguf", from: ["clip", "text_encoders"], ext: [".gguf"] },
];

/**
 * The model folders as ComfyUI's `/models` and loaders see them. Files may come and go while it
 * runs (ComfyUI rescans a folder whose mtime changed, so a copied-in model shows without a restart).
 */
export class ModelFolders {
  private lists = new Map<string, string[]>();
  private readonly inventory: Record<string, string[]>;

  constructor(inventory: Inventory) {
    this.inventory = Object.fromEntries(Object.entries(inventory).map(([k, v]) => [k, [...v]]));
    this.rebuild();
  }

  private rebuild(): void {
    const inventory = this.inventory;
    this.lists = new Map();
    for (const folder of FOLDERS) {
      const names = folder.from.flatMap((key) => inventory[key] ?? []);
      const ext = folder.ext;
      const wanted = ext === null ? names : names.filter((n) => ext.some((e) => n.toLowerCase().endsWith(e)));
      this.lists.set(folder.name, [...new Set(wanted)].sort());
    }
    const legacy = new Set(["unet", "clip", "t2i_adapter"]);
    for (const [key, names] of Object.entries(inventory)) {
      if (!this.lists.has(key) && !legacy.has(key)) this.lists.set(key, [...new Set(names)].sort());
    }
  }

  /** `GET /models`: every folder name. */
  names(): string[] {
    return [...this.lists.keys()];
  }

  /** `folder_paths.get_filename_list(folder)`, or undefined for an unknown folder. */
  files(folder: string): string[] | undefined {
    return this.lists.get(folder);
  }

  /** Whether a loader would find `name` in `folder` (`get_full_path` is not None). */
  has(folder: string, name: string): boolean {
    return this.lists.get(folder)?.includes(name) ?? false;
  }

  /** A model file copied into `models/<dir>` while ComfyUI runs (`dir` as on disk: `checkpoints`, `unet`, `loras`, ...). */
  add(dir: string, name: string): void {
    const list = (this.inventory[dir] ??= []);
    if (!list.includes(name)) list.push(name);
    this.rebuild();
  }

  /** A model file deleted from disk while ComfyUI runs: gone from every list that had it. */
  remove(name: string): boolean {
    let removed = false;
    for (const [dir, list] of Object.entries(this.inventory)) {
      if (list.includes(name)) {
        this.inventory[dir] = list.filter((n) => n !== name);
        removed = true;
      }
    }
    if (removed) this.rebuild();
    return removed;
  }
}

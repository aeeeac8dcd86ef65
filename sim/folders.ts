import { type Dirent, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { type Listing, listingIsCurrent, scanFolder } from "./model-scan.ts";

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
 * directories under `models/` feed each one and which extensions it lists (null: any; diffusers'
 * `["folder"]` matches no extension, so ComfyUI's `/models/diffusers` is always empty). `unet` and
 * `clip` are legacy names that only exist on disk, so `/models/unet` is a 404 there too.
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
  { name: "diffusers", from: ["diffusers"], ext: ["folder"] },
  { name: "vae_approx", from: ["vae_approx"], ext: PT },
  { name: "controlnet", from: ["controlnet", "t2i_adapter"], ext: PT },
  { name: "gligen", from: ["gligen"], ext: PT },
  { name: "upscale_models", from: ["upscale_models"], ext: PT },
  { name: "custom_nodes", from: ["custom_nodes"], ext: null },
  { name: "hypernetworks", from: ["hypernetworks"], ext: PT },
  { name: "photomaker", from: ["photomaker"], ext: PT },
  { name: "classifiers", from: ["classifiers"], ext: [""] },
  { name: "model_patches", from: ["model_patches"], ext: PT },
  { name: "audio_encoders", from: ["audio_encoders"], ext: PT },
  { name: "unet_gguf", from: ["unet", "diffusion_models"], ext: [".gguf"] },
  { name: "clip_gguf", from: ["clip", "text_encoders"], ext: [".gguf"] },
];

/** What a placeholder model file holds: loaders in the sim only check that the file is there. */
const PLACEHOLDER = "comfy-edge sim: placeholder model file\n";

/** A models-relative name kept inside its folder, as `get_full_path` normalizes it (`../x` stays in). */
function safeRelative(name: string): string {
  return path.posix.normalize(`/${name.replace(/\\/g, "/")}`).slice(1);
}

/**
 * Writes a small placeholder file for each inventory entry that is not on disk yet, under
 * `root/<folder>/<name>` (subfolders made as needed). Existing files are never touched.
 */
export function seedModelFiles(root: string, inventory: Inventory): void {
  for (const [dir, names] of Object.entries(inventory)) {
    for (const name of names) {
      const file = path.join(root, safeRelative(dir), safeRelative(name));
      mkdirSync(path.dirname(file), { recursive: true });
      try {
        writeFileSync(file, PLACEHOLDER, { flag: "wx" });
      } catch (e) {
        if ((e as { code?: unknown }).code !== "EEXIST") throw e;
      }
    }
  }
}

const LEGACY = new Set(["unet", "clip", "t2i_adapter"]);
type Folder = { roots: string[]; ext: readonly string[] | null };

/**
 * ComfyUI's `models/` directory as `/models` and the loaders see it: each folder lists the files
 * under its on-disk directories (subfolders included), cached until a directory's mtime changes,
 * as folder_paths.py does, so a model copied in while the sim runs shows without a restart. A
 * top-level directory no folder claims is listed as its own folder (as a custom node registering it).
 */
export class ModelFolders {
  readonly root: string;
  private readonly cache = new Map<string, Listing>();

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true });
  }

  private folder(name: string): Folder | undefined {
    const known = FOLDERS.find((f) => f.name === name);
    if (known) return { roots: known.from.map((d) => path.join(this.root, d)), ext: known.ext };
    if (LEGACY.has(name) || name.startsWith(".") || !this.extraDirs().includes(name)) return undefined;
    return { roots: [path.join(this.root, name)], ext: null };
  }

  private extraDirs(): string[] {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch {
      return [];
    }
    const known = new Set(FOLDERS.flatMap((f) => [f.name, ...f.from]));
    return entries.filter((e) => e.isDirectory() && !known.has(e.name) && !LEGACY.has(e.name) && !e.name.startsWith(".")).map((e) => e.name).sort();
  }

  /** `GET /models`: every folder name. */
  names(): string[] {
    return [...FOLDERS.map((f) => f.name), ...this.extraDirs()];
  }

  /** `folder_paths.get_filename_list(folder)`, or undefined for an unknown folder. */
  files(name: string): string[] | undefined {
    const folder = this.folder(name);
    if (!folder) return undefined;
    let listing = this.cache.get(name);
    if (!listing || !listingIsCurrent(listing, folder.roots)) {
      listing = scanFolder(folder.roots, folder.ext);
      this.cache.set(name, listing);
    }
    return [...listing.files];
  }

  /** Whether a loader would find `name` in `folder`: `get_full_path` is a file (only its existence is checked, nothing is read). */
  has(folderName: string, file: string): boolean {
    const folder = this.folder(folderName);
    if (!folder) return false;
    const rel = safeRelative(file);
    return folder.roots.some((root) => {
      try {
        return statSync(path.join(root, rel)).isFile();
      } catch {
        return false;
      }
    });
  }

  /** A model file copied into `models/<dir>` while ComfyUI runs (`dir` as on disk: `checkpoints`, `unet`, `loras`, ...). */
  add(dir: string, name: string): void {
    seedModelFiles(this.root, { [dir]: [name] });
    this.cache.clear();
  }

  /** A model file deleted from disk while ComfyUI runs: gone from every folder that had it. */
  remove(name: string): boolean {
    const rel = safeRelative(name);
    let removed = false;
    for (const dir of readdirSync(this.root, { withFileTypes: true })) {
      if (!dir.isDirectory()) continue;
      const file = path.join(this.root, dir.name, rel);
      try {
        if (!statSync(file).isFile()) continue;
        rmSync(file);
        removed = true;
      } catch {
        // not there
      }
    }
    this.cache.clear();
    return removed;
  }
}

import type { SavedImage, SimFiles } from "./files.ts";
import type { ModelFolders } from "./folders.ts";
import { missingModel, NodeFailure, tracebackFor } from "./node-errors.ts";
import { IMAGE_BEHAVIOURS, loadPixels } from "./image-nodes.ts";
import { MORE_IMAGE_BEHAVIOURS } from "./image-nodes-more.ts";
import { described, encodeImage, imagesToSave, type Picture, picture } from "./picture.ts";

export { type Picture, picture } from "./picture.ts";

/**
 * What each node class does in the sim. Values flowing along links are small descriptors
 * (a latent is its size and the seed/prompt material that shaped it), so nothing heavy is held;
 * loaders check the rig's model list, samplers spend their steps, savers write real PNGs.
 */

interface Conditioning {
  readonly text: string;
}

export interface RunContext {
  readonly nodeId: string;
  readonly classType: string;
  readonly files: SimFiles;
  readonly folders: ModelFolders;
  /** tEXt chunks for saved PNGs (`prompt`, `workflow`), as SaveImage embeds them. */
  readonly pngText: Record<string, string>;
  /** Runs `steps` sampler steps: progress, previews, interrupts and faults happen here. */
  sample(steps: number, key: string): Promise<void>;
  /** SaveImageWebsocket's delivery: a progress tick and the PNG as a binary frame. */
  sendImage(png: Buffer, index: number, total: number): void;
}

export interface NodeResult {
  readonly outputs: readonly unknown[];
  readonly ui?: Record<string, unknown>;
}
export type Behaviour = (inputs: Record<string, unknown>, ctx: RunContext) => NodeResult | Promise<NodeResult>;

const passModel: Behaviour = (i) => ({ outputs: [i.model] });
const value: Behaviour = (i) => ({ outputs: [i.value] });

function requireModel(ctx: RunContext, folders: readonly string[], name: unknown, shownFolder = folders[0] ?? ""): void {
  if (typeof name === "string" && folders.some((f) => ctx.folders.has(f, name))) return;
  throw missingModel(ctx.classType, shownFolder, name);
}

function loader(folder: string, inputs: readonly string[], outputs: readonly string[], shown = folder): Behaviour {
  return (i, ctx) => {
    for (const input of inputs) requireModel(ctx, [folder], i[input], shown);
    return { outputs: outputs.map((t) => ({ t, name: i[inputs[0] as string] })) };
  };
}

function text(v: unknown): string {
  return typeof v === "object" && v !== null && "text" in v ? String((v as Conditioning).text) : "";
}

function emptyLatent(i: Record<string, unknown>): NodeResult {
  const latent: Picture = { width: Number(i.width), height: Number(i.height), batch: Number(i.batch_size ?? 1), key: "" };
  return { outputs: [latent] };
}

async function sampled(ctx: RunContext, steps: unknown, seed: unknown, cond: unknown, latentIn: unknown): Promise<Picture> {
  const latent = picture(latentIn);
  const key = `${String(seed)}|${text(cond)}|${latent.key}`;
  await ctx.sample(Math.max(0, Math.floor(Number(steps) || 0)), key);
  return { ...latent, key };
}

async function save(ctx: RunContext, kind: "output" | "temp", prefix: unknown, pic: unknown): Promise<NodeResult> {
  const saved: SavedImage[] = await ctx.files.saveImages(String(prefix), kind, imagesToSave(picture(pic)), ctx.pngText);
  return { outputs: [], ui: { images: saved } };
}

async function loadImage(i: Record<string, unknown>, ctx: RunContext): Promise<NodeResult> {
  const name = String(i.image);
  const file = ctx.files.inputPath(name);
  try {
    if (!file) throw new Error("outside");
    const loaded = await loadPixels(ctx.files.pending(file) ?? file);
    const pic: Picture = {
      width: loaded.width, height: loaded.height, batch: loaded.frames.length,
      key: `load|${name}|${ctx.files.fileToken(name)}`, pixels: (n) => loaded.frames[n] as Float32Array,
    };
    return { outputs: [pic, { t: "MASK" }] };
  } catch {
    throw new NodeFailure("PIL.UnidentifiedImageError", `cannot identify image file '${file ?? name}'`, tracebackFor(
      ctx.classType,
      '  File "/ComfyUI/node_helpers.py", line 19, in pillow\n    x = fn(arg)\n',
    ));
  }
}

function loraStack(i: Record<string, unknown>): NodeResult {
  if (i.toggle === false || i.toggle === null) return { outputs: [null] };
  const loras: [string, number, number][] = [];
  if (Array.isArray(i.optional_lora_stack)) loras.push(...(i.optional_lora_stack as [string, number, number][]));
  const count = Number(i.num_loras ?? 1);
  for (let n = 1; n <= count; n++) {
    const name = i[`lora_${n}_name`];
    if (typeof name !== "string" || name === "None") continue;
    const simple = i.mode !== "advanced";
    const model = Number(i[simple ? `lora_${n}_strength` : `lora_${n}_model_strength`] ?? 1);
    const clip = Number(i[simple ? `lora_${n}_strength` : `lora_${n}_clip_strength`] ?? 1);
    loras.push([name, model, clip]);
  }
  return { outputs: [loras] };
}

export const BEHAVIOURS: Readonly<Record<string, Behaviour>> = {
  ...IMAGE_BEHAVIOURS,
  ...MORE_IMAGE_BEHAVIOURS,
  ParamString: value,
  ParamInt: value,
  ParamFloat: value,
  ParamBoolean: value,
  ParamUniversal: value,
  CheckpointLoaderSimple: loader("checkpoints", ["ckpt_name"], ["MODEL", "CLIP", "VAE"]),
  VAELoader: (i, ctx) => (i.vae_name === "pixel_space" ? { outputs: [{ t: "VAE", name: "pixel_space" }] } : loader("vae", ["vae_name"], ["VAE"])(i, ctx)),
  UNETLoader: loader("diffusion_models", ["unet_name"], ["MODEL"]),
  CLIPLoader: loader("text_encoders", ["clip_name"], ["CLIP"]),
  DualCLIPLoader: loader("text_encoders", ["clip_name1", "clip_name2"], ["CLIP"]),
  UnetLoaderGGUF: loader("unet_gguf", ["unet_name"], ["MODEL"], "unet"),
  DualCLIPLoaderGGUF: (i, ctx) => {
    for (const input of ["clip_name1", "clip_name2"]) requireModel(ctx, ["text_encoders", "clip_gguf"], i[input], "clip");
    return { outputs: [{ t: "CLIP" }] };
  },
  LoraLoader: (i, ctx) => {
    requireModel(ctx, ["loras"], i.lora_name);
    return { outputs: [i.model, i.clip] };
  },
  LoraLoaderModelOnly: (i, ctx) => {
    requireModel(ctx, ["loras"], i.lora_name);
    return { outputs: [i.model] };
  },
  "easy loraStack": loraStack,
  "easy loraStackApply": (i, ctx) => {
    for (const entry of Array.isArray(i.lora_stack) ? i.lora_stack : []) requireModel(ctx, ["loras"], (entry as unknown[])[0]);
    return { outputs: [i.model, i.optional_clip ?? null] };
  },
  HelperModelSwitch: (i) => ({ outputs: [i.select_b ? i.model_b : i.model_a] }),
  ApplyFBCacheOnModel: passModel,
  EnhancedCompileModel: passModel,
  ModelSamplingFlux: passModel,
  CLIPTextEncode: (i) => ({ outputs: [{ t: "CONDITIONING", text: String(i.text) } satisfies Conditioning & { t: string }] }),
  FluxGuidance: (i) => ({ outputs: [i.conditioning] }),
  BasicGuider: (i) => ({ outputs: [{ t: "GUIDER", text: text(i.conditioning) }] }),
  KSamplerSelect: (i) => ({ outputs: [{ t: "SAMPLER", name: i.sampler_name }] }),
  BasicScheduler: (i) => ({ outputs: [{ t: "SIGMAS", steps: Number(i.denoise) > 0 ? Number(i.steps) : 0 }] }),
  RandomNoise: (i) => ({ outputs: [{ t: "NOISE", seed: i.noise_seed }] }),
  EmptyLatentImage: emptyLatent,
  EmptySD3LatentImage: emptyLatent,
  KSampler: async (i, ctx) => ({ outputs: [await sampled(ctx, i.steps, i.seed, i.positive, i.latent_image)] }),
  SamplerCustomAdvanced: async (i, ctx) => {
    const steps = (i.sigmas as { steps?: unknown } | null)?.steps;
    const out = await sampled(ctx, steps, (i.noise as { seed?: unknown } | null)?.seed, i.guider, i.latent_image);
    return { outputs: [out, out] };
  },
  VAEDecode: (i) => ({ outputs: [picture(i.samples)] }),
  VAEEncode: (i) => ({ outputs: [described(picture(i.pixels))] }),
  LoadImage: loadImage,
  SaveImage: (i, ctx) => save(ctx, "output", i.filename_prefix, i.images),
  PreviewImage: (i, ctx) => save(ctx, "temp", "ComfyUI", i.images),
  SaveImageWebsocket: (i, ctx) => {
    const list = imagesToSave(picture(i.images));
    for (const [n, img] of list.entries()) ctx.sendImage(encodeImage(img), n, list.length);
    return { outputs: [] };
  },
};

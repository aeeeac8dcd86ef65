/**
 * The node classes the sim knows, as data: ComfyUI core nodes plus the custom nodes the
 * project's workflows use (ParamNodes, ComfyUI-GGUF, Easy-Use, WaveSpeed). Inputs mirror each
 * class's `INPUT_TYPES()`; `/object_info`, validation and execution all read this one table.
 */

import { IMAGE_NODE_CLASSES } from "./image-node-classes.ts";

/** A combo whose choices come from the rig: model folders, or the input directory's images. */
/** Choices from model folders, with built-in names before or after the files (never files themselves). */
export type ComboSource =
  | { readonly folders: readonly string[]; readonly prepend?: readonly string[]; readonly append?: readonly string[] }
  | { readonly inputImages: true };
export type InputType = string | readonly string[] | ComboSource;
export type InputDef = readonly [InputType, Readonly<Record<string, unknown>>?];

export interface NodeClassDef {
  readonly category: string;
  readonly displayName?: string;
  readonly description?: string;
  readonly pythonModule?: string;
  readonly required: Readonly<Record<string, InputDef>>;
  readonly optional?: Readonly<Record<string, InputDef>>;
  readonly hidden?: Readonly<Record<string, string>>;
  readonly outputs: readonly string[];
  readonly outputNames?: readonly string[];
  readonly outputNode?: boolean;
  /** Inputs the class checks in its own `VALIDATE_INPUTS` (ComfyUI then skips min/max/combo). */
  readonly validateInputs?: readonly string[];
  /** `IS_CHANGED`: "always" re-runs every time; "input-file" follows the loaded file. */
  readonly isChanged?: "always" | "input-file";
}

const MAX_RESOLUTION = 16384;
const MAX_SEED = 0xffffffffffffffff;

export const SAMPLERS = [
  "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
  "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
  "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
  "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm",
  "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
  "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp", "er_sde", "seeds_2",
  "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2",
] as const;
export const SCHEDULERS = [
  "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal",
] as const;
const DUAL_CLIP_TYPES = ["sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image"];
const CLIP_TYPES = [
  "stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos", "lumina2",
  "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image",
];
const DEVICE: InputDef = [["default", "cpu"], { advanced: true }];
const SAVE_HIDDEN = { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" };

const param = (type: string, opts: Record<string, unknown>, out: string, displayName: string): NodeClassDef => ({
  category: "Params/Input",
  displayName,
  pythonModule: "custom_nodes.ComfyUI-ParamNodes",
  required: { value: [type, opts] },
  outputs: [out],
  outputNames: ["value"],
});

function loraStackInputs(): Record<string, InputDef> {
  const inputs: Record<string, InputDef> = { optional_lora_stack: ["LORA_STACK"] };
  const strength: InputDef = ["FLOAT", { default: 1.0, min: -10.0, max: 10.0, step: 0.01 }];
  for (let i = 1; i <= 10; i++) {
    inputs[`lora_${i}_name`] = [{ folders: ["loras"], prepend: ["None"] }, { default: "None" }];
    inputs[`lora_${i}_strength`] = strength;
    inputs[`lora_${i}_model_strength`] = strength;
    inputs[`lora_${i}_clip_strength`] = strength;
  }
  return inputs;
}

export const NODE_CLASSES: Readonly<Record<string, NodeClassDef>> = {
  ...IMAGE_NODE_CLASSES,
  CheckpointLoaderSimple: {
    category: "loaders", displayName: "Load Checkpoint",
    description: "Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
    required: { ckpt_name: [{ folders: ["checkpoints"] }, { tooltip: "The name of the checkpoint (model) to load." }] },
    outputs: ["MODEL", "CLIP", "VAE"],
  },
  CLIPTextEncode: {
    category: "conditioning", displayName: "CLIP Text Encode (Prompt)",
    required: { text: ["STRING", { multiline: true, dynamicPrompts: true }], clip: ["CLIP"] },
    outputs: ["CONDITIONING"],
  },
  EmptyLatentImage: {
    category: "latent", displayName: "Empty Latent Image",
    required: {
      width: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }],
      height: ["INT", { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }],
      batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
    },
    outputs: ["LATENT"],
  },
  EmptySD3LatentImage: {
    category: "latent/sd3", pythonModule: "comfy_extras.nodes_sd3",
    required: {
      width: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION, step: 16 }],
      height: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION, step: 16 }],
      batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
    },
    outputs: ["LATENT"],
  },
  KSampler: {
    category: "sampling",
    required: {
      model: ["MODEL"],
      seed: ["INT", { default: 0, min: 0, max: MAX_SEED, control_after_generate: true }],
      steps: ["INT", { default: 20, min: 1, max: 10000 }],
      cfg: ["FLOAT", { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 }],
      sampler_name: [SAMPLERS],
      scheduler: [SCHEDULERS],
      positive: ["CONDITIONING"],
      negative: ["CONDITIONING"],
      latent_image: ["LATENT"],
      denoise: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
    },
    outputs: ["LATENT"],
  },
  KSamplerSelect: {
    category: "sampling/custom_sampling/samplers", pythonModule: "comfy_extras.nodes_custom_sampler",
    required: { sampler_name: [SAMPLERS] },
    outputs: ["SAMPLER"],
  },
  SamplerCustomAdvanced: {
    category: "sampling/custom_sampling", pythonModule: "comfy_extras.nodes_custom_sampler",
    required: { noise: ["NOISE"], guider: ["GUIDER"], sampler: ["SAMPLER"], sigmas: ["SIGMAS"], latent_image: ["LATENT"] },
    outputs: ["LATENT", "LATENT"], outputNames: ["output", "denoised_output"],
  },
  BasicScheduler: {
    category: "sampling/custom_sampling/schedulers", pythonModule: "comfy_extras.nodes_custom_sampler",
    required: {
      model: ["MODEL"],
      scheduler: [SCHEDULERS],
      steps: ["INT", { default: 20, min: 1, max: 10000 }],
      denoise: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
    },
    outputs: ["SIGMAS"],
  },
  BasicGuider: {
    category: "sampling/custom_sampling/guiders", pythonModule: "comfy_extras.nodes_custom_sampler",
    required: { model: ["MODEL"], conditioning: ["CONDITIONING"] },
    outputs: ["GUIDER"],
  },
  RandomNoise: {
    category: "sampling/custom_sampling/noise", pythonModule: "comfy_extras.nodes_custom_sampler",
    required: { noise_seed: ["INT", { default: 0, min: 0, max: MAX_SEED, control_after_generate: true }] },
    outputs: ["NOISE"],
  },
  FluxGuidance: {
    category: "advanced/conditioning/flux", pythonModule: "comfy_extras.nodes_flux",
    required: { conditioning: ["CONDITIONING"], guidance: ["FLOAT", { default: 3.5, min: 0.0, max: 100.0, step: 0.1 }] },
    outputs: ["CONDITIONING"],
  },
  ModelSamplingFlux: {
    category: "advanced/model", pythonModule: "comfy_extras.nodes_model_advanced",
    required: {
      model: ["MODEL"],
      max_shift: ["FLOAT", { default: 1.15, min: 0.0, max: 100.0, step: 0.01 }],
      base_shift: ["FLOAT", { default: 0.5, min: 0.0, max: 100.0, step: 0.01 }],
      width: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION, step: 8 }],
      height: ["INT", { default: 1024, min: 16, max: MAX_RESOLUTION, step: 8 }],
    },
    outputs: ["MODEL"],
  },
  VAEDecode: {
    category: "latent", displayName: "VAE Decode",
    required: { samples: ["LATENT"], vae: ["VAE"] },
    outputs: ["IMAGE"],
  },
  VAEEncode: {
    category: "latent", displayName: "VAE Encode",
    required: { pixels: ["IMAGE"], vae: ["VAE"] },
    outputs: ["LATENT"],
  },
  VAELoader: {
    category: "loaders", displayName: "Load VAE",
    // ComfyUI's VAELoader.vae_list() ends with the built-in "pixel_space" (nodes.py), file or not.
    required: { vae_name: [{ folders: ["vae"], append: ["pixel_space"] }] },
    outputs: ["VAE"],
  },
  UNETLoader: {
    category: "advanced/loaders", displayName: "Load Diffusion Model",
    required: {
      unet_name: [{ folders: ["diffusion_models"] }],
      weight_dtype: [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]],
    },
    outputs: ["MODEL"],
  },
  CLIPLoader: {
    category: "advanced/loaders", displayName: "Load CLIP",
    required: { clip_name: [{ folders: ["text_encoders"] }], type: [CLIP_TYPES] },
    optional: { device: DEVICE },
    outputs: ["CLIP"],
  },
  DualCLIPLoader: {
    category: "advanced/loaders",
    required: {
      clip_name1: [{ folders: ["text_encoders"] }],
      clip_name2: [{ folders: ["text_encoders"] }],
      type: [DUAL_CLIP_TYPES],
    },
    optional: { device: DEVICE },
    outputs: ["CLIP"],
  },
  LoraLoader: {
    category: "loaders", displayName: "Load LoRA",
    required: {
      model: ["MODEL"],
      clip: ["CLIP"],
      lora_name: [{ folders: ["loras"] }],
      strength_model: ["FLOAT", { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
      strength_clip: ["FLOAT", { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
    },
    outputs: ["MODEL", "CLIP"],
  },
  LoraLoaderModelOnly: {
    category: "loaders",
    required: {
      model: ["MODEL"],
      lora_name: [{ folders: ["loras"] }],
      strength_model: ["FLOAT", { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
    },
    outputs: ["MODEL"],
  },
  LoadImage: {
    category: "image", displayName: "Load Image",
    required: { image: [{ inputImages: true }, { image_upload: true }] },
    outputs: ["IMAGE", "MASK"],
    validateInputs: ["image"],
    isChanged: "input-file",
  },
  SaveImage: {
    category: "image", displayName: "Save Image",
    description: "Saves the input images to your ComfyUI output directory.",
    required: { images: ["IMAGE"], filename_prefix: ["STRING", { default: "ComfyUI" }] },
    hidden: SAVE_HIDDEN,
    outputs: [],
    outputNode: true,
  },
  PreviewImage: {
    category: "image", displayName: "Preview Image",
    description: "Saves the input images to your ComfyUI output directory.",
    required: { images: ["IMAGE"] },
    hidden: SAVE_HIDDEN,
    outputs: [],
    outputNode: true,
  },
  SaveImageWebsocket: {
    category: "api node/image", pythonModule: "custom_nodes.websocket_image_save",
    required: { images: ["IMAGE"] },
    outputs: [],
    outputNode: true,
    isChanged: "always",
  },
  ParamString: param("STRING", { default: "", multiline: true }, "STRING", "String Param"),
  ParamInt: param("INT", { default: 0, min: 0, max: MAX_SEED }, "INT", "Integer Param"),
  ParamFloat: param("FLOAT", { default: 1.0, min: -100.0, max: 100.0, step: 0.01, display: "number" }, "FLOAT", "Float Param"),
  ParamBoolean: param("BOOLEAN", { default: true }, "BOOLEAN", "Boolean Param"),
  ParamUniversal: param("STRING", { default: "None", multiline: false }, "*", "Universal Param (for Combos)"),
  HelperModelSwitch: {
    category: "Helpers/Logic", displayName: "Model Switch", pythonModule: "custom_nodes.ComfyUI-ParamNodes",
    required: { model_a: ["MODEL"], model_b: ["MODEL"], select_b: ["BOOLEAN", { default: true }] },
    outputs: ["MODEL"], outputNames: ["model"],
  },
  UnetLoaderGGUF: {
    category: "bootleg", displayName: "Unet Loader (GGUF)", pythonModule: "custom_nodes.ComfyUI-GGUF",
    required: { unet_name: [{ folders: ["unet_gguf"] }] },
    outputs: ["MODEL"],
  },
  DualCLIPLoaderGGUF: {
    category: "bootleg", displayName: "DualCLIPLoader (GGUF)", pythonModule: "custom_nodes.ComfyUI-GGUF",
    required: {
      clip_name1: [{ folders: ["text_encoders", "clip_gguf"] }],
      clip_name2: [{ folders: ["text_encoders", "clip_gguf"] }],
      type: [DUAL_CLIP_TYPES],
    },
    outputs: ["CLIP"],
  },
  "easy loraStack": {
    category: "EasyUse/Loaders", displayName: "EasyLoraStack", pythonModule: "custom_nodes.ComfyUI-Easy-Use",
    required: {
      toggle: ["BOOLEAN", { label_on: "enabled", label_off: "disabled" }],
      mode: [["simple", "advanced"]],
      num_loras: ["INT", { default: 1, min: 1, max: 10 }],
    },
    optional: loraStackInputs(),
    outputs: ["LORA_STACK"], outputNames: ["lora_stack"],
  },
  "easy loraStackApply": {
    category: "EasyUse/Loaders", displayName: "Easy Apply LoraStack", pythonModule: "custom_nodes.ComfyUI-Easy-Use",
    required: { lora_stack: ["LORA_STACK"], model: ["MODEL"] },
    optional: { optional_clip: ["CLIP"] },
    outputs: ["MODEL", "CLIP"], outputNames: ["model", "clip"],
  },
  ApplyFBCacheOnModel: {
    category: "wavespeed", displayName: "Apply First Block Cache", pythonModule: "custom_nodes.Comfy-WaveSpeed",
    required: {
      model: ["MODEL"],
      object_to_patch: ["STRING", { default: "diffusion_model" }],
      residual_diff_threshold: ["FLOAT", { default: 0.0, min: 0.0, max: 1.0, step: 0.001 }],
      start: ["FLOAT", { default: 0.0, step: 0.01, max: 1.0, min: 0.0 }],
      end: ["FLOAT", { default: 1.0, step: 0.01, max: 1.0, min: 0.0 }],
      max_consecutive_cache_hits: ["INT", { default: -1, min: -1 }],
    },
    outputs: ["MODEL"],
  },
  EnhancedCompileModel: {
    category: "wavespeed", displayName: "Compile Model+", pythonModule: "custom_nodes.Comfy-WaveSpeed",
    required: {
      model: ["*"],
      is_patcher: ["BOOLEAN", { default: true }],
      object_to_patch: ["STRING", { default: "diffusion_model" }],
      compiler: ["STRING", { default: "torch.compile" }],
      fullgraph: ["BOOLEAN", { default: false }],
      dynamic: ["BOOLEAN", { default: false }],
      mode: ["STRING", { multiline: true, default: "" }],
      options: ["STRING", { multiline: true, default: "" }],
      disable: ["BOOLEAN", { default: false }],
      backend: ["STRING", { default: "inductor" }],
    },
    outputs: ["*"],
  },
};

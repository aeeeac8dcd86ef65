/** ComfyUI API-format graphs the agent tests run on the sim (SD 1.5 shapes). */
export const CHECKPOINT = "v1-5-pruned-emaonly.safetensors";

export function txt2img(opts: { seed?: number; steps?: number; prefix?: string } = {}): Record<string, unknown> {
  return {
    "3": {
      class_type: "KSampler",
      inputs: { seed: opts.seed ?? 42, steps: opts.steps ?? 8, cfg: 7, sampler_name: "euler", scheduler: "normal", denoise: 1, model: ["4", 0], positive: ["6", 0], negative: ["7", 0], latent_image: ["5", 0] },
      _meta: { title: "KSampler" },
    },
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: CHECKPOINT }, _meta: { title: "Load Checkpoint" } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: 64, height: 64, batch_size: 1 }, _meta: { title: "Empty Latent Image" } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: "a lighthouse at dusk", clip: ["4", 1] }, _meta: { title: "Positive" } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: "blurry", clip: ["4", 1] }, _meta: { title: "Negative" } },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] }, _meta: { title: "VAE Decode" } },
    "9": { class_type: "SaveImage", inputs: { filename_prefix: opts.prefix ?? "agent_test", images: ["8", 0] }, _meta: { title: "Save Image" } },
  };
}

/** txt2img with its latent from an input image (`LoadImage` node "10"). */
export function img2img(image = "placeholder.png"): Record<string, unknown> {
  const g = txt2img({ prefix: "agent_img2img" });
  g["10"] = { class_type: "LoadImage", inputs: { image }, _meta: { title: "Input Image" } };
  g["11"] = { class_type: "VAEEncode", inputs: { pixels: ["10", 0], vae: ["4", 2] }, _meta: { title: "VAE Encode" } };
  (g["3"] as { inputs: Record<string, unknown> }).inputs.latent_image = ["11", 0];
  (g["3"] as { inputs: Record<string, unknown> }).inputs.denoise = 0.6;
  delete g["5"];
  return g;
}

import { PyError } from "./py.ts";

/** The frames every node failure shares in ComfyUI's `execution.py`, as `traceback.format_tb` prints them. */
const EXECUTION_FRAMES = [
  '  File "/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
  '  File "/ComfyUI/execution.py", line 315, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
  '  File "/ComfyUI/execution.py", line 289, in _async_map_node_over_list\n    await process_inputs(input_dict, i)\n',
  '  File "/ComfyUI/execution.py", line 277, in process_inputs\n    result = f(**inputs)\n',
];

const SAMPLER_FRAMES: Record<string, string[]> = {
  KSampler: [
    '  File "/ComfyUI/nodes.py", line 1525, in sample\n    return common_ksampler(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=denoise)\n',
    '  File "/ComfyUI/comfy/sample.py", line 50, in sample\n    samples = sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step, last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask, sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)\n',
  ],
  SamplerCustomAdvanced: [
    '  File "/ComfyUI/comfy_extras/nodes_custom_sampler.py", line 842, in execute\n    samples = guider.sample(noise.generate_noise(latent), latent_image, sampler, sigmas, denoise_mask=noise_mask, callback=callback, disable_pbar=disable_pbar, seed=noise.seed)\n',
  ],
};

/** A traceback list as ComfyUI sends it in `execution_error`, ending in the failing class's frames. */
export function tracebackFor(classType: string, last?: string): string[] {
  const frames = [...EXECUTION_FRAMES, ...(SAMPLER_FRAMES[classType] ?? [])];
  if (last) frames.push(last);
  return frames;
}

const OOM_TIPS =
  "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.";

/** A node failure: the exception plus ComfyUI's `tips` line (only OOM has one). */
export class NodeFailure extends PyError {
  readonly tips: string;

  constructor(type: string, text: string, traceback: string[], tips = "") {
    super(type, text, traceback);
    this.tips = tips;
  }
}

/** `get_full_path_or_raise`: what a loader raises for a model file the rig does not have. */
export function missingModel(classType: string, folder: string, name: unknown): NodeFailure {
  const text = `Model in folder '${folder}' with filename '${String(name)}' not found.`;
  return new NodeFailure("FileNotFoundError", text, tracebackFor(
    classType,
    `  File "/ComfyUI/folder_paths.py", line 299, in get_full_path_or_raise\n    raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")\n`,
  ));
}

const LOADERS = new Set([
  "CheckpointLoaderSimple", "VAELoader", "UNETLoader", "CLIPLoader", "DualCLIPLoader", "LoraLoader",
  "LoraLoaderModelOnly", "UnetLoaderGGUF", "DualCLIPLoaderGGUF", "easy loraStackApply",
]);

/** A realistic injected failure for a node of `classType` (the `error` fault). */
export function injectedFailure(classType: string): NodeFailure {
  if (classType === "KSampler" || classType === "SamplerCustomAdvanced") {
    return new NodeFailure("torch.OutOfMemoryError", "Allocation on device ", tracebackFor(
      classType,
      '  File "/ComfyUI/comfy/ldm/flux/layers.py", line 212, in forward\n    attn = attention(q, k, v, pe=pe, mask=attn_mask)\n',
    ), OOM_TIPS);
  }
  if (LOADERS.has(classType)) {
    return new NodeFailure("safetensors_rust.SafetensorError", "Error while deserializing header: MetadataIncompleteBuffer", tracebackFor(
      classType,
      '  File "/ComfyUI/comfy/utils.py", line 68, in load_torch_file\n    with safetensors.safe_open(ckpt, framework="pt", device=device.type) as f:\n',
    ));
  }
  if (classType === "SaveImage" || classType === "PreviewImage") {
    return new NodeFailure("OSError", "[Errno 28] No space left on device", tracebackFor(
      classType,
      '  File "/ComfyUI/nodes.py", line 1626, in save_images\n    img.save(os.path.join(full_output_folder, file), pnginfo=metadata, compress_level=self.compress_level)\n',
    ));
  }
  // A graph mistake (mismatched sizes) rather than a device fault: see deviceFailure for those.
  return new NodeFailure(
    "RuntimeError",
    "The size of tensor a (64) must match the size of tensor b (128) at non-singleton dimension 3",
    tracebackFor(classType),
  );
}

/**
 * What a broken GPU raises at whichever node touches it first: since PyTorch 2.8 CUDA errors
 * are `torch.AcceleratorError` (a RuntimeError subclass), named so by ComfyUI's full_type_name.
 */
export function deviceFailure(classType: string): NodeFailure {
  return new NodeFailure(
    "torch.AcceleratorError",
    "CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\nCompile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n",
    tracebackFor(classType),
  );
}

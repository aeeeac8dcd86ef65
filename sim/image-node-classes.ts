import type { InputDef, NodeClassDef } from "./node-classes.ts";
import { DITHERS } from "./quantize.ts";
import { SPACING_COLORS, STITCH_DIRECTIONS } from "./stitch.ts";

/**
 * ComfyUI's core image nodes that need no model, with the inputs, ranges, categories and display
 * names of ComfyUI 0.3.64: nodes.py (EmptyImage, ImageScale, ImageScaleBy, ImageInvert, ImageBatch,
 * ImagePadForOutpaint; display names from its NODE_DISPLAY_NAME_MAPPINGS),
 * comfy_extras/nodes_post_processing.py (ImageBlend, ImageBlur, ImageQuantize, ImageSharpen,
 * ImageScaleToTotalPixels) and comfy_extras/nodes_images.py (ImageCrop, RepeatImageBatch,
 * ImageFromBatch, ImageStitch, SaveAnimatedWEBP, SaveAnimatedPNG).
 */

const MAX_RESOLUTION = 16384;
const UPSCALE_METHODS = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"] as const;
const POST = "comfy_extras.nodes_post_processing";
const IMAGES = "comfy_extras.nodes_images";
const size = (dflt: number, min: number, step = 1): InputDef => ["INT", { default: dflt, min, max: MAX_RESOLUTION, step }];

export const IMAGE_NODE_CLASSES: Readonly<Record<string, NodeClassDef>> = {
  EmptyImage: {
    category: "image",
    required: {
      width: size(512, 1),
      height: size(512, 1),
      batch_size: ["INT", { default: 1, min: 1, max: 4096 }],
      color: ["INT", { default: 0, min: 0, max: 0xffffff, step: 1, display: "color" }],
    },
    outputs: ["IMAGE"],
  },
  ImageInvert: {
    category: "image", displayName: "Invert Image",
    required: { image: ["IMAGE"] },
    outputs: ["IMAGE"],
  },
  ImageScale: {
    category: "image/upscaling", displayName: "Upscale Image",
    required: {
      image: ["IMAGE"],
      upscale_method: [UPSCALE_METHODS],
      width: size(512, 0),
      height: size(512, 0),
      crop: [["disabled", "center"]],
    },
    outputs: ["IMAGE"],
  },
  ImageScaleBy: {
    category: "image/upscaling", displayName: "Upscale Image By",
    required: {
      image: ["IMAGE"],
      upscale_method: [UPSCALE_METHODS],
      scale_by: ["FLOAT", { default: 1.0, min: 0.01, max: 8.0, step: 0.01 }],
    },
    outputs: ["IMAGE"],
  },
  ImageBatch: {
    category: "image", displayName: "Batch Images",
    required: { image1: ["IMAGE"], image2: ["IMAGE"] },
    outputs: ["IMAGE"],
  },
  ImagePadForOutpaint: {
    category: "image", displayName: "Pad Image for Outpainting",
    required: {
      image: ["IMAGE"],
      left: size(0, 0, 8),
      top: size(0, 0, 8),
      right: size(0, 0, 8),
      bottom: size(0, 0, 8),
      feathering: size(40, 0),
    },
    outputs: ["IMAGE", "MASK"],
  },
  ImageBlend: {
    category: "image/postprocessing", displayName: "Image Blend", pythonModule: POST,
    required: {
      image1: ["IMAGE"],
      image2: ["IMAGE"],
      blend_factor: ["FLOAT", { default: 0.5, min: 0.0, max: 1.0, step: 0.01 }],
      blend_mode: [["normal", "multiply", "screen", "overlay", "soft_light", "difference"]],
    },
    outputs: ["IMAGE"],
  },
  ImageBlur: {
    category: "image/postprocessing", displayName: "Image Blur", pythonModule: POST,
    required: {
      image: ["IMAGE"],
      blur_radius: ["INT", { default: 1, min: 1, max: 31, step: 1 }],
      sigma: ["FLOAT", { default: 1.0, min: 0.1, max: 10.0, step: 0.1 }],
    },
    outputs: ["IMAGE"],
  },
  ImageQuantize: {
    category: "image/postprocessing", displayName: "Image Quantize", pythonModule: POST,
    required: {
      image: ["IMAGE"],
      colors: ["INT", { default: 256, min: 1, max: 256, step: 1 }],
      dither: [DITHERS],
    },
    outputs: ["IMAGE"],
  },
  ImageSharpen: {
    category: "image/postprocessing", displayName: "Image Sharpen", pythonModule: POST,
    required: {
      image: ["IMAGE"],
      sharpen_radius: ["INT", { default: 1, min: 1, max: 31, step: 1 }],
      sigma: ["FLOAT", { default: 1.0, min: 0.1, max: 10.0, step: 0.01 }],
      alpha: ["FLOAT", { default: 1.0, min: 0.0, max: 5.0, step: 0.01 }],
    },
    outputs: ["IMAGE"],
  },
  ImageScaleToTotalPixels: {
    category: "image/upscaling", displayName: "Scale Image to Total Pixels", pythonModule: POST,
    required: {
      image: ["IMAGE"],
      upscale_method: [UPSCALE_METHODS],
      megapixels: ["FLOAT", { default: 1.0, min: 0.01, max: 16.0, step: 0.01 }],
    },
    outputs: ["IMAGE"],
  },
  ImageCrop: {
    category: "image/transform", displayName: "Image Crop", pythonModule: IMAGES,
    required: { image: ["IMAGE"], width: size(512, 1), height: size(512, 1), x: size(0, 0), y: size(0, 0) },
    outputs: ["IMAGE"],
  },
  ImageStitch: {
    category: "image/transform", displayName: "Image Stitch", pythonModule: IMAGES,
    required: {
      image1: ["IMAGE"],
      direction: [STITCH_DIRECTIONS, { default: "right" }],
      match_image_size: ["BOOLEAN", { default: true }],
      spacing_width: ["INT", { default: 0, min: 0, max: 1024, step: 2 }],
      spacing_color: [SPACING_COLORS, { default: "white" }],
    },
    optional: { image2: ["IMAGE"] },
    outputs: ["IMAGE"],
  },
  RepeatImageBatch: {
    category: "image/batch", pythonModule: IMAGES,
    required: { image: ["IMAGE"], amount: ["INT", { default: 1, min: 1, max: 4096 }] },
    outputs: ["IMAGE"],
  },
  ImageFromBatch: {
    category: "image/batch", pythonModule: IMAGES,
    required: {
      image: ["IMAGE"],
      batch_index: ["INT", { default: 0, min: 0, max: 4095 }],
      length: ["INT", { default: 1, min: 1, max: 4096 }],
    },
    outputs: ["IMAGE"],
  },
  SaveAnimatedWEBP: {
    category: "image/animation", pythonModule: IMAGES,
    required: {
      images: ["IMAGE"],
      filename_prefix: ["STRING", { default: "ComfyUI" }],
      fps: ["FLOAT", { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }],
      lossless: ["BOOLEAN", { default: true }],
      quality: ["INT", { default: 80, min: 0, max: 100 }],
      method: [["default", "fastest", "slowest"]],
    },
    hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" },
    outputs: [],
    outputNode: true,
  },
  SaveAnimatedPNG: {
    category: "image/animation", pythonModule: IMAGES,
    required: {
      images: ["IMAGE"],
      filename_prefix: ["STRING", { default: "ComfyUI" }],
      fps: ["FLOAT", { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }],
      compress_level: ["INT", { default: 4, min: 0, max: 9 }],
    },
    hidden: { prompt: "PROMPT", extra_pnginfo: "EXTRA_PNGINFO" },
    outputs: [],
    outputNode: true,
  },
};

import { describe, expect, it } from "vitest";
import { canonicalFolder, describeModel, inventoryHas, LOADER_INPUTS, missingModels } from "./models.ts";

describe("canonicalFolder", () => {
  it.each([
    ["diffusion_models", "unet"],
    ["unet", "unet"],
    ["text_encoders", "clip"],
    ["clip", "clip"],
    ["unet_gguf", "unet"],
    ["Checkpoints", "checkpoints"],
    ["loras", "loras"],
  ])("%s -> %s", (folder, expected) => {
    expect(canonicalFolder(folder)).toBe(expected);
  });
});

describe("inventoryHas and missingModels", () => {
  const inventory = {
    diffusion_models: ["flux1-dev-Q4_K_S.gguf"],
    text_encoders: ["t5-v1_1-xxl-encoder-Q5_K_M.gguf"],
    clip: ["clip_l.safetensors"],
    loras: ["sd15\\add_detail.safetensors"],
    checkpoints: ["v1-5-pruned-emaonly.safetensors"],
  };

  it("finds a model under any alias of its folder", () => {
    expect(inventoryHas(inventory, { folder: "unet", name: "flux1-dev-Q4_K_S.gguf" })).toBe(true);
    expect(inventoryHas(inventory, { folder: "clip", name: "t5-v1_1-xxl-encoder-Q5_K_M.gguf" })).toBe(true);
    expect(inventoryHas(inventory, { folder: "text_encoders", name: "clip_l.safetensors" })).toBe(true);
  });

  it("matches subfolders whichever slash the rig uses, and never across folders or by case", () => {
    expect(inventoryHas(inventory, { folder: "loras", name: "sd15/add_detail.safetensors" })).toBe(true);
    expect(inventoryHas(inventory, { folder: "loras", name: "v1-5-pruned-emaonly.safetensors" })).toBe(false);
    expect(inventoryHas(inventory, { folder: "checkpoints", name: "V1-5-pruned-emaonly.safetensors" })).toBe(false);
  });

  it("lists the missing ones in the order asked", () => {
    const refs = [
      { folder: "vae", name: "ae.safetensors" },
      { folder: "unet", name: "flux1-dev-Q4_K_S.gguf" },
      { folder: "loras", name: "Flux-Anime-LoRA.safetensors" },
    ];
    expect(missingModels(inventory, refs)).toEqual([refs[0], refs[2]]);
    expect(missingModels({}, [])).toEqual([]);
  });
});

describe("describeModel", () => {
  it("names the file", () => {
    expect(describeModel({ folder: "unet", name: "flux1-dev-Q4_K_S.gguf" })).toBe("flux1-dev-Q4_K_S.gguf");
  });
});

describe("LOADER_INPUTS", () => {
  it("knows the core loaders and the custom ones the project installs", () => {
    expect(LOADER_INPUTS["CheckpointLoaderSimple"]).toEqual({ ckpt_name: "checkpoints" });
    expect(LOADER_INPUTS["LoraLoader"]).toEqual({ lora_name: "loras" });
    expect(LOADER_INPUTS["UnetLoaderGGUF"]).toEqual({ unet_name: "unet" });
    expect(LOADER_INPUTS["DualCLIPLoaderGGUF"]).toEqual({ clip_name1: "clip", clip_name2: "clip" });
    expect(Object.keys(LOADER_INPUTS["easy loraStack"] ?? {})).toHaveLength(10);
    expect(LOADER_INPUTS["easy loraStack"]?.["lora_10_name"]).toBe("loras");
  });

  it("uses only canonical folder names", () => {
    for (const inputs of Object.values(LOADER_INPUTS)) {
      for (const folder of Object.values(inputs)) expect(canonicalFolder(folder)).toBe(folder);
    }
  });
});

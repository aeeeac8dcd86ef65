import { describe, expect, it } from "vitest";
import { missingFor, rigCanRun } from "./requirements.ts";

const req = { models: [{ folder: "unet", name: "flux.gguf" }, { folder: "vae", name: "ae.safetensors" }], nodes: ["KSampler", "UnetLoaderGGUF"] };

describe("a rig's fit for a job", () => {
  it("names the model files and node classes the rig lacks", () => {
    const rig = { inventory: { diffusion_models: ["flux.gguf"] }, classes: new Set(["KSampler"]) };
    expect(missingFor(rig, req)).toEqual({ models: [{ folder: "vae", name: "ae.safetensors" }], nodes: ["UnetLoaderGGUF"] });
    expect(rigCanRun(rig, req)).toBe(false);
  });

  it("takes a rig that reported no node catalog as having every class", () => {
    const rig = { inventory: { unet: ["flux.gguf"], vae: ["ae.safetensors"] }, classes: null };
    expect(missingFor(rig, req)).toEqual({ models: [], nodes: [] });
    expect(rigCanRun(rig, req)).toBe(true);
  });
});

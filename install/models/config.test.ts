import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modelSpecsFromText } from "./config.ts";
import { ModelsConfigError } from "./errors.ts";

const shipped = readFileSync(new URL("../configs/models.ini", import.meta.url), "utf8");

describe("modelSpecsFromText", () => {
  it("throws one config error listing every bad line", () => {
    expect(() => modelSpecsFromText("_ = https://a/x.gguf\n[vae]\nnope\n")).toThrowError(ModelsConfigError);
    try {
      modelSpecsFromText("_ = https://a/x.gguf\n[vae]\nnope\n");
    } catch (error) {
      expect((error as ModelsConfigError).problems.map((p) => p.line)).toEqual([1, 3]);
      expect((error as ModelsConfigError).message).toMatch(/2 bad lines:\n {2}line 1: .*\n {2}line 3: /);
    }
  });

  it("the shipped models.ini parses and holds what the flux workflow loads, with the LoRA names loras.yaml uses", () => {
    const paths = modelSpecsFromText(shipped).map((s) => s.relPath);
    for (const needed of [
      "unet/flux1-dev-Q4_K_S.gguf",
      "unet/flux1-schnell-Q4_K_S.gguf",
      "vae/ae.safetensors",
      "text_encoders/t5-v1_1-xxl-encoder-Q5_K_M.gguf",
      "clip/clip_l.safetensors",
      "loras/Flux-Ghibli-Art-LoRA.safetensors",
      "loras/Flux-Ghibsky-Art-LoRA.safetensors",
    ]) {
      expect(paths).toContain(needed);
    }
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modelCatalogFromText, withOptInLines } from "./catalog.ts";

const shipped = readFileSync(new URL("../../install/configs/models.ini", import.meta.url), "utf8");

describe("the fetchable model catalog (models.ini)", () => {
  it("finds a model by the folder a graph names, ComfyUI's aliases included, with its URL, pin and size", () => {
    const sha = "ef".repeat(32);
    const { catalog, problems } = modelCatalogFromText(
      `[text_encoders]\n_ = https://example.com/t5.gguf#sha256=${sha}&size=5000\n[unet]\n_ = https://example.com/m.gguf\n`,
    );
    expect(problems).toEqual([]);
    expect(catalog.find({ folder: "clip", name: "t5.gguf" })).toEqual({ folder: "text_encoders", name: "t5.gguf", url: "https://example.com/t5.gguf", sha256: sha, bytes: 5000 });
    expect(catalog.find({ folder: "diffusion_models", name: "m.gguf" })?.folder).toBe("unet");
    expect(catalog.find({ folder: "unet", name: "other.gguf" })).toBeNull();
    expect(catalog.find({ folder: "loras", name: "m.gguf" })).toBeNull();
  });

  it("counts the opt-in lines npm run models skips (commented for their size) as fetchable; plain comments stay comments", () => {
    const text = "[unet]\n# a note = not a url\n#_ = https://example.com/big-Q8_0.gguf\n_ = https://example.com/small.gguf\n";
    expect(withOptInLines(text)).toContain("\n_ = https://example.com/big-Q8_0.gguf\n");
    const { catalog, problems } = modelCatalogFromText(text);
    expect(problems).toEqual([]);
    expect(catalog.models.map((m) => m.name)).toEqual(["big-Q8_0.gguf", "small.gguf"]);
  });

  it("reports bad lines by number and keeps the good ones", () => {
    const { catalog, problems } = modelCatalogFromText("[vae]\n_ = https://example.com/ae.safetensors\nnope\n");
    expect(problems.map((p) => [p.line, p.code])).toEqual([[3, "bad_line"]]);
    expect(catalog.models).toHaveLength(1);
  });

  it("the shipped models.ini parses without a problem and offers the flux models", () => {
    const { catalog, problems } = modelCatalogFromText(shipped);
    expect(problems).toEqual([]);
    expect(catalog.find({ folder: "unet", name: "flux1-dev-Q4_K_S.gguf" })?.url).toBe("https://huggingface.co/city96/FLUX.1-dev-gguf/resolve/main/flux1-dev-Q4_K_S.gguf");
    expect(catalog.find({ folder: "unet", name: "flux1-dev-Q8_0.gguf" })).not.toBeNull();
  });
});

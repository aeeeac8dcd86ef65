import path from "node:path";
import { describe, expect, test } from "vitest";
import { modelTarget, sameModelKey } from "./refs.ts";
import { fetchSpec } from "./spec.ts";

const SHA = "a".repeat(64);

describe("where a fetched model goes", () => {
  test("into <models dir>/<folder>/<name>, subfolders of the name included", () => {
    expect(modelTarget("/m", { folder: "loras", name: "a.safetensors" })).toEqual({ key: "loras/a.safetensors", file: path.resolve("/m/loras/a.safetensors") });
    expect(modelTarget("/m", { folder: "ultralytics/bbox", name: "sub/face.pt" })).toMatchObject({ file: path.resolve("/m/ultralytics/bbox/sub/face.pt") });
  });

  test("never outside the models folder, nor as a hidden or .part file", () => {
    for (const ref of [
      { folder: "..", name: "x.safetensors" },
      { folder: "loras", name: "../../etc/x.safetensors" },
      { folder: "/etc", name: "x.safetensors" },
      { folder: "loras", name: "a\\..\\x.safetensors" },
      { folder: "loras", name: ".hidden.safetensors" },
      { folder: "loras", name: "x.safetensors.part" },
      { folder: "loras", name: "" },
    ]) {
      expect(modelTarget("/m", ref), JSON.stringify(ref)).toHaveProperty("problem");
    }
  });

  test("a job's canonical folder and a fetch's models.ini folder name the same file", () => {
    expect(sameModelKey("diffusion_models/flux.gguf")).toBe(sameModelKey("unet/flux.gguf"));
    expect(sameModelKey("text_encoders\\t5.gguf")).toBe("clip/t5.gguf");
    expect(sameModelKey("loras/a.safetensors")).not.toBe(sameModelKey("loras/b.safetensors"));
  });
});

describe("fetchSpec", () => {
  test("builds the installer's spec: Hub revision parsed, sha256 pinned, the name kept exactly", () => {
    const spec = fetchSpec({ model: { folder: "unet", name: "flux1-dev-Q4_K_S.gguf" }, url: "https://huggingface.co/city96/FLUX.1-dev-gguf/resolve/main/flux1-dev-Q4_K_S.gguf", sha256: SHA });
    expect(spec).toMatchObject({ section: "unet", fileName: "flux1-dev-Q4_K_S.gguf", relPath: "unet/flux1-dev-Q4_K_S.gguf", repo: "city96/FLUX.1-dev-gguf", revision: "main", sha256: SHA });
    const renamed = fetchSpec({ model: { folder: "clip", name: "sub/clip_l.safetensors" }, url: "https://example.com/model.safetensors#frag", sha256: null });
    expect(renamed).toMatchObject({ section: "clip/sub", fileName: "clip_l.safetensors", url: "https://example.com/model.safetensors", sha256: null });
  });

  test("refuses a name without the URL's extension and a Hub web-page link, saying why", () => {
    expect(fetchSpec({ model: { folder: "clip", name: "clip_l" }, url: "https://example.com/model.safetensors", sha256: null })).toMatchObject({ problem: expect.stringMatching(/extension/) });
    expect(fetchSpec({ model: { folder: "vae", name: "ae.safetensors" }, url: "https://huggingface.co/o/r/blob/main/ae.safetensors", sha256: null })).toMatchObject({ problem: expect.stringMatching(/resolve/) });
  });
});

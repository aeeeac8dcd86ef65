import path from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { modelKey, modelKeyOfPath } from "../../shared/models.ts";
import { modelTarget } from "./refs.ts";
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

});

/** A ComfyUI models folder and its aliases: one file to ComfyUI whichever is written. */
const FOLDERS: Record<string, string[]> = {
  unet: ["unet", "diffusion_models", "unet_gguf"],
  clip: ["clip", "text_encoders", "clip_gguf"],
  controlnet: ["controlnet", "t2i_adapter"],
  checkpoints: ["checkpoints"],
  loras: ["loras"],
  ultralytics: ["ultralytics"],
};
const part = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}$/);
const anyCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join(""));
/** One model file spelled many ways: folder alias and case, where its subfolders sit (folder or name), `/` or `\\`. */
const spellings = fc
  .record({
    canonical: fc.constantFrom(...Object.keys(FOLDERS)),
    sub: fc.array(part, { maxLength: 3 }),
    file: part.map((p) => `${p}.safetensors`),
  })
  .chain(({ canonical, sub, file }) =>
    fc.record({
      model: fc.constant({ canonical, sub, file }),
      folder: fc.constantFrom(...FOLDERS[canonical]!).chain(anyCase),
      split: fc.integer({ min: 0, max: sub.length }),
      sep: fc.constantFrom("/", "\\"),
    }),
  )
  .map(({ model, folder, split, sep }) => ({
    model,
    /** As the edge's models.ini section names it (subfolders in the folder), or a job's graph (subfolders in the name): anything between. */
    ref: { folder: [folder, ...model.sub.slice(0, split)].join("/"), name: [...model.sub.slice(split), model.file].join(sep) },
  }));

describe("one key for one model file, on the edge and on the agent", () => {
  test("modelKey is the canonical folder, then the subfolders and the file as written, whatever the spelling", () => {
    fc.assert(
      fc.property(spellings, ({ model, ref }) => {
        const key = [model.canonical, ...model.sub, model.file].join("/");
        // The edge keys its fetch book and catalog by modelKey(ref); the agent its fetches and store by the same.
        expect(modelKey(ref)).toBe(key);
        // A job's `models` reach the agent as `folder/name` text: the same key.
        expect(modelKeyOfPath(`${ref.folder}/${ref.name}`)).toBe(key);
        expect(modelKeyOfPath(key)).toBe(key);
        const target = modelTarget("/m", ref);
        if (!("problem" in target)) expect(target.key).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  test("two spellings of one file share a key; files in other subfolders or of another case do not", () => {
    fc.assert(
      fc.property(spellings, spellings, ({ model: a, ref: ra }, { model: b, ref: rb }) => {
        const same = a.canonical === b.canonical && a.file === b.file && a.sub.join("/") === b.sub.join("/");
        expect(modelKey(ra) === modelKey(rb)).toBe(same);
      }),
      { numRuns: 500 },
    );
    expect(modelKey({ folder: "diffusion_models/sub", name: "x.gguf" })).toBe(modelKey({ folder: "unet", name: "sub\\x.gguf" }));
    expect(modelKey({ folder: "Checkpoints/Sub", name: "x.safetensors" })).toBe("checkpoints/Sub/x.safetensors");
    expect(modelKey({ folder: "checkpoints/sub", name: "x.safetensors" })).not.toBe(modelKey({ folder: "checkpoints", name: "Sub/x.safetensors" }));
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

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifestDir } from "../../scripts/bundle-manifests.ts";
import { loadCatalog, type ManifestFiles } from "./catalog.ts";
import { compileJob, randomInt } from "./compile.ts";
import { findBrokenLink } from "./graph.ts";
import { validateParams } from "./params.ts";

const MANIFESTS = join(import.meta.dirname, "../../manifests");

/** The shipped manifests, read the way the build step reads them. */
const realFiles = (): ManifestFiles => readManifestDir(MANIFESTS);

const catalog = loadCatalog(realFiles());

/** Validates then compiles, as the edge does. */
function compile(id: string, params: Record<string, unknown>, random?: () => number) {
  const workflow = catalog.workflows[id];
  if (!workflow) throw new Error(`no workflow ${id}`);
  const checked = validateParams(catalog, workflow, params);
  if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
  return compileJob(catalog, workflow, checked.values, random);
}

function input(graph: Record<string, { inputs: Record<string, unknown> }>, node: string, name: string): unknown {
  return graph[node]?.inputs[name];
}

describe("compileJob on flux_default (targets by _meta.title)", () => {
  it("writes each value into its Param node's inputs.value", () => {
    const job = compile("flux_default", { prompt: "a cat", width: 768, height: 512, steps: 8, FBC_optimize: false, lora_strength: 0.5 });
    expect(input(job.graph, "63", "value")).toBe(768);
    expect(input(job.graph, "64", "value")).toBe(512);
    expect(input(job.graph, "65", "value")).toBe(8);
    expect(input(job.graph, "67", "value")).toBe("a cat");
    expect(input(job.graph, "72", "value")).toBe(false);
    expect(input(job.graph, "73", "value")).toBe("flux1-dev-Q4_K_S.gguf");
    expect(input(job.graph, "75", "value")).toBe(0.5);
    expect(input(job.graph, "27", "width")).toEqual(["63", 0]);
  });

  it("deep-copies: the catalog's graph is untouched", () => {
    const before = JSON.stringify(catalog.workflows["flux_default"]?.graph);
    const job = compile("flux_default", { prompt: "a dog", width: 512 });
    expect(JSON.stringify(catalog.workflows["flux_default"]?.graph)).toBe(before);
    expect(job.graph).not.toBe(catalog.workflows["flux_default"]?.graph);
  });

  it.each([
    ["a prefix LoRA", "Flux-Ghibli-Art-LoRA.safetensors", "Ghibli Art, a cat"],
    ["a suffix LoRA", "Flux-Scenery-LoRA.safetensors", "a cat, scenery style"],
    ["no LoRA", "None", "a cat"],
  ])("joins %s's words to the prompt as the original did", (_what, lora, expected) => {
    const job = compile("flux_default", { prompt: "a cat", lora });
    expect(job.prompt).toBe(expected);
    expect(input(job.graph, "67", "value")).toBe(expected);
    expect(input(job.graph, "74", "value")).toBe(lora);
  });

  it("resolves the model files through the Param nodes, leaving out None", () => {
    const plain = compile("flux_default", { prompt: "a cat", model: "flux1-schnell-Q8_0.gguf" });
    expect(plain.models).toEqual([
      { folder: "vae", name: "ae.safetensors" },
      { folder: "unet", name: "flux1-schnell-Q8_0.gguf" },
      { folder: "clip", name: "t5-v1_1-xxl-encoder-Q5_K_M.gguf" },
      { folder: "clip", name: "clip_l.safetensors" },
    ]);
    const withLora = compile("flux_default", { prompt: "a cat", lora: "Flux-Anime-LoRA.safetensors" });
    expect(withLora.models).toContainEqual({ folder: "loras", name: "Flux-Anime-LoRA.safetensors" });
    expect(withLora.models).toHaveLength(5);
  });
});

describe("compileJob seeds", () => {
  it("resolves \"random\" to an integer in 0..2^53-1, writes it and reports it", () => {
    for (const [draw, expected] of [
      [0, 0],
      [0.999_999_999_999, undefined],
    ] as const) {
      const job = compile("flux_default", { prompt: "a cat" }, () => draw);
      expect(Number.isSafeInteger(job.seed)).toBe(true);
      expect(job.seed).toBeGreaterThanOrEqual(0);
      expect(job.seed).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
      if (expected !== undefined) expect(job.seed).toBe(expected);
      expect(input(job.graph, "66", "value")).toBe(job.seed);
    }
  });

  it("draws different seeds from a real source", () => {
    const seeds = new Set(Array.from({ length: 20 }, () => compile("sd15_basic", { prompt: "a cat" }).seed));
    expect(seeds.size).toBeGreaterThan(1);
    for (const seed of seeds) expect(Number.isSafeInteger(seed) && (seed ?? -1) >= 0).toBe(true);
  });

  it("keeps an explicit seed", () => {
    const job = compile("sd15_basic", { prompt: "a cat", seed: 1234567890123 });
    expect(job.seed).toBe(1234567890123);
    expect(input(job.graph, "3", "seed")).toBe(1234567890123);
  });

  it("randomInt stays inside small and huge ranges, even from a source that returns 1", () => {
    expect(randomInt(5, 5, () => 0.7)).toBe(5);
    expect(randomInt(1, 6, () => 1)).toBe(6);
    expect(randomInt(0, Number.MAX_SAFE_INTEGER, () => 1)).toBe(Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 200; i++) {
      const n = randomInt(-10, 2 ** 40);
      expect(Number.isSafeInteger(n) && n >= -10 && n <= 2 ** 40).toBe(true);
    }
  });
});

describe("compileJob on sd15_basic (explicit {node, input} targets, core nodes only)", () => {
  it("writes each value into its node input, one value into several inputs where listed", () => {
    const job = compile("sd15_basic", {
      prompt: "a cat",
      negative_prompt: "blurry",
      width: 640,
      steps: 30,
      cfg: 5.5,
      lora: "add_detail.safetensors",
      lora_strength: 0.7,
    });
    expect(input(job.graph, "6", "text")).toBe("a cat");
    expect(input(job.graph, "7", "text")).toBe("blurry");
    expect(input(job.graph, "5", "width")).toBe(640);
    expect(input(job.graph, "5", "height")).toBe(512);
    expect(input(job.graph, "3", "steps")).toBe(30);
    expect(input(job.graph, "3", "cfg")).toBe(5.5);
    expect(input(job.graph, "10", "lora_name")).toBe("add_detail.safetensors");
    expect(input(job.graph, "10", "strength_model")).toBe(0.7);
    expect(input(job.graph, "10", "strength_clip")).toBe(0.7);
    expect(job.models).toEqual([
      { folder: "checkpoints", name: "v1-5-pruned-emaonly.safetensors" },
      { folder: "loras", name: "add_detail.safetensors" },
    ]);
  });

  it('bypasses the LoraLoader for lora "None", wiring its consumers to the checkpoint', () => {
    const job = compile("sd15_basic", { prompt: "a cat" });
    expect(job.graph["10"]).toBeUndefined();
    expect(input(job.graph, "3", "model")).toEqual(["4", 0]);
    expect(input(job.graph, "6", "clip")).toEqual(["4", 1]);
    expect(input(job.graph, "7", "clip")).toEqual(["4", 1]);
    expect(findBrokenLink(job.graph)).toBeNull();
    expect(job.models).toEqual([{ folder: "checkpoints", name: "v1-5-pruned-emaonly.safetensors" }]);
    expect(catalog.workflows["sd15_basic"]?.graph["10"]).toBeDefined();
  });
});

describe("compileJob on sd15_img2img (image targets)", () => {
  it("reports where the uploaded image goes and sets denoise", () => {
    const upload = "upl_00112233445566778899aabb";
    const job = compile("sd15_img2img", { input_image: upload, prompt: "a cat", denoising_strength: 0.35 });
    expect(job.images).toEqual([{ param: "input_image", node_id: "11", input: "image", upload_id: upload }]);
    expect(input(job.graph, "11", "image")).toBe(upload);
    expect(input(job.graph, "3", "denoise")).toBe(0.35);
    expect(job.graph["11"]?.class_type).toBe("LoadImage");
  });

  it("reports no images for a text-to-image workflow", () => {
    const job = compile("flux_default", { prompt: "a cat" });
    expect(job.images).toEqual([]);
  });
});

describe("compileJob on a workflow without prompt or seed", () => {
  it("reports both as null and leaves unset inputs as the graph has them", () => {
    const toy = loadCatalog({
      "base.yaml": "scale: { map_to: [scale, { node: \"1\", input: ratio }], type: float }\n",
      "workflows.yaml": "toy:\n  workflow_file: toy.json\n  description: toy\n  parameters: [scale]\n",
      "workflows/toy.json": JSON.stringify({
        "1": { class_type: "Thing", inputs: { ratio: 1 } },
        "2": { class_type: "ParamFloat", inputs: { value: 1 }, _meta: { title: "scale" } },
      }),
    });
    const workflow = toy.workflows["toy"];
    if (!workflow) throw new Error("toy missing");
    expect(compileJob(toy, workflow, {})).toMatchObject({ seed: null, prompt: null, graph: { "1": { inputs: { ratio: 1 } } } });
    const job = compileJob(toy, workflow, { scale: 2.5 });
    expect(input(job.graph, "1", "ratio")).toBe(2.5);
    expect(input(job.graph, "2", "value")).toBe(2.5);
  });
});

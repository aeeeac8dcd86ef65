import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifestDir } from "../../scripts/bundle-manifests.ts";
import type { FieldError } from "../errors.ts";
import { loadCatalog, type ManifestFiles } from "./catalog.ts";
import { validateParams } from "./params.ts";

const MANIFESTS = join(import.meta.dirname, "../../manifests");

/** The shipped manifests, read the way the build step reads them. */
const realFiles = (): ManifestFiles => readManifestDir(MANIFESTS);

const catalog = loadCatalog(realFiles());

/** A small catalog for what the shipped workflows do not exercise (float choices, no default). */
const toy = loadCatalog({
  "base.yaml": [
    "scale: { map_to: scale, type: float, default: 1.0, choices: [0.5, 1.0, 2.0] }",
    'sampler: { map_to: { node: "1", input: sampler_name }, type: string, default: euler, choices: [euler, dpmpp_2m] }',
    "count: { map_to: count, type: integer, min: 1 }",
  ].join("\n"),
  "workflows.yaml": "toy:\n  workflow_file: toy.json\n  description: toy\n  parameters: [scale, sampler, count]\n",
  "workflows/toy.json": JSON.stringify({
    "1": { class_type: "KSamplerSelect", inputs: { sampler_name: "euler" } },
    "2": { class_type: "ParamFloat", inputs: { value: 1 }, _meta: { title: "scale" } },
    "3": { class_type: "ParamInt", inputs: { value: 1 }, _meta: { title: "count" } },
  }),
});

function workflow(id: string) {
  const w = catalog.workflows[id] ?? toy.workflows[id];
  if (!w) throw new Error(`no workflow ${id}`);
  return w;
}

function errorsOf(id: string, params: unknown): FieldError[] {
  const result = validateParams(catalog, workflow(id), params);
  return result.ok ? [] : result.errors;
}

const UPLOAD = "upl_0123456789abcdef01234567";
const flux = (params: Record<string, unknown>) => ({ prompt: "a cat", ...params });
const img = (params: Record<string, unknown>) => ({ input_image: UPLOAD, prompt: "a cat", ...params });

interface Refusal {
  what: string;
  workflow: string;
  params: unknown;
  path: string;
  rule: string;
  message?: RegExp;
}

const REFUSALS: Refusal[] = [
  { what: "params that are not an object", workflow: "flux_default", params: ["a"], path: "params", rule: "type" },
  { what: "null params", workflow: "flux_default", params: null, path: "params", rule: "type" },
  { what: "a missing required prompt", workflow: "flux_default", params: {}, path: "params.prompt", rule: "required" },
  { what: "a prompt that is a number", workflow: "flux_default", params: { prompt: 5 }, path: "params.prompt", rule: "type" },
  { what: "a prompt over max_length", workflow: "flux_default", params: { prompt: "x".repeat(4001) }, path: "params.prompt", rule: "max_length", message: /at most 4000 characters, got 4001/ },
  { what: "an integer sent as a string", workflow: "flux_default", params: flux({ steps: "5" }), path: "params.steps", rule: "type", message: /got the string "5"/ },
  { what: "a fractional integer", workflow: "flux_default", params: flux({ width: 3.9 }), path: "params.width", rule: "integer" },
  { what: "NaN", workflow: "flux_default", params: flux({ steps: Number.NaN }), path: "params.steps", rule: "type", message: /finite/ },
  { what: "Infinity", workflow: "flux_default", params: flux({ lora_strength: Number.POSITIVE_INFINITY }), path: "params.lora_strength", rule: "type" },
  { what: "null for a defaulted param", workflow: "flux_default", params: flux({ steps: null }), path: "params.steps", rule: "type", message: /leave it out/ },
  { what: "a width below min", workflow: "flux_default", params: flux({ width: 32 }), path: "params.width", rule: "min", message: /at least 64, got 32/ },
  { what: "a width above max", workflow: "flux_default", params: flux({ width: 16384 }), path: "params.width", rule: "max", message: /at most 2048/ },
  { what: "a width off the multiple", workflow: "flux_default", params: flux({ width: 1001 }), path: "params.width", rule: "multiple_of" },
  { what: "a workflow's own tighter max", workflow: "sd15_basic", params: flux({ height: 2048 }), path: "params.height", rule: "max", message: /at most 1024/ },
  { what: "100,000 steps", workflow: "flux_default", params: flux({ steps: 100_000 }), path: "params.steps", rule: "max" },
  { what: "a float sent as a string", workflow: "flux_default", params: flux({ lora_strength: "1" }), path: "params.lora_strength", rule: "type" },
  { what: "a float above max", workflow: "flux_default", params: flux({ lora_strength: 2.5 }), path: "params.lora_strength", rule: "max" },
  { what: "a boolean sent as a string", workflow: "flux_default", params: flux({ FBC_optimize: "false" }), path: "params.FBC_optimize", rule: "type", message: /got the string "false"/ },
  { what: "a boolean sent as 0", workflow: "flux_default", params: flux({ FBC_optimize: 0 }), path: "params.FBC_optimize", rule: "type" },
  { what: "an unknown LoRA", workflow: "flux_default", params: flux({ lora: "Nope.safetensors" }), path: "params.lora", rule: "choices", message: /"None", "Flux-Ghibli-Art-LoRA\.safetensors"/ },
  { what: "another family's LoRA", workflow: "flux_default", params: flux({ lora: "add_detail.safetensors" }), path: "params.lora", rule: "choices" },
  { what: "a model outside the choices", workflow: "flux_default", params: flux({ model: "../../etc/passwd" }), path: "params.model", rule: "choices" },
  { what: "a float outside its choices", workflow: "toy", params: { scale: 1.5 }, path: "params.scale", rule: "choices" },
  { what: "a string outside its choices", workflow: "toy", params: { sampler: "Euler" }, path: "params.sampler", rule: "choices" },
  { what: "a negative seed", workflow: "flux_default", params: flux({ seed: -1 }), path: "params.seed", rule: "min" },
  { what: "a fractional seed", workflow: "flux_default", params: flux({ seed: 1.5 }), path: "params.seed", rule: "integer" },
  { what: "a seed as a numeric string", workflow: "flux_default", params: flux({ seed: "12345" }), path: "params.seed", rule: "type", message: /an integer or "random"/ },
  { what: "a seed spelt RANDOM", workflow: "flux_default", params: flux({ seed: "RANDOM" }), path: "params.seed", rule: "type" },
  { what: "a seed of 2^53", workflow: "flux_default", params: flux({ seed: 2 ** 53 }), path: "params.seed", rule: "max", message: /2\^53-1.*2\^64-1/ },
  { what: "a seed of 2^64-1", workflow: "flux_default", params: flux({ seed: 18446744073709551615 }), path: "params.seed", rule: "max", message: /JSON numbers are exact only up to 2\^53-1/ },
  { what: "a missing input image", workflow: "sd15_img2img", params: { prompt: "a cat" }, path: "params.input_image", rule: "required" },
  { what: "an image that is not an upload id", workflow: "sd15_img2img", params: img({ input_image: "/etc/passwd" }), path: "params.input_image", rule: "format" },
  { what: "an upload id in upper case", workflow: "sd15_img2img", params: img({ input_image: UPLOAD.toUpperCase() }), path: "params.input_image", rule: "format" },
  { what: "an upload id one short", workflow: "sd15_img2img", params: img({ input_image: UPLOAD.slice(0, -1) }), path: "params.input_image", rule: "format" },
  { what: "an image sent as a number", workflow: "sd15_img2img", params: img({ input_image: 7 }), path: "params.input_image", rule: "type" },
  { what: "a denoise above 1", workflow: "sd15_img2img", params: img({ denoising_strength: 1.5 }), path: "params.denoising_strength", rule: "max" },
  { what: "a denoise below 0", workflow: "sd15_img2img", params: img({ denoising_strength: -0.1 }), path: "params.denoising_strength", rule: "min" },
  { what: "a param the workflow does not take", workflow: "sd15_img2img", params: img({ width: 512 }), path: "params.width", rule: "unknown" },
];

describe("validateParams refuses", () => {
  it.each(REFUSALS)("$what", ({ workflow: id, params, path, rule, message }) => {
    const errors = errorsOf(id, params);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path, rule });
    if (message) expect(errors[0]?.message).toMatch(message);
  });

  it("each unknown name, one error apiece, naming what the workflow accepts", () => {
    const errors = errorsOf("flux_default", flux({ stepz: 5, neg: "x" }));
    expect(errors.map((e) => [e.path, e.rule])).toEqual([
      ["params.stepz", "unknown"],
      ["params.neg", "unknown"],
    ]);
    expect(errors[0]?.message).toMatch(/"stepz".*prompt, seed, width/);
  });

  it("a __proto__ key as an unknown name, without touching any prototype", () => {
    const errors = errorsOf("flux_default", JSON.parse('{"prompt": "a cat", "__proto__": {"steps": 5}}'));
    expect(errors.map((e) => [e.path, e.rule])).toEqual([["params.__proto__", "unknown"]]);
  });

  it("every bad field at once", () => {
    const errors = errorsOf("flux_default", { width: "wide", steps: 0, lora: 3 });
    expect(errors.map((e) => `${e.path}:${e.rule}`)).toEqual(["params.prompt:required", "params.width:type", "params.steps:min", "params.lora:type"]);
  });

  it("width*height*steps over the workflow's budget, as one error naming the product and the limit", () => {
    const errors = errorsOf("flux_default", flux({ width: 2048, height: 2048, steps: 100 }));
    expect(errors).toEqual([{ path: "params", rule: "budget", message: expect.stringMatching(/width\*height\*steps = 2048\*2048\*100 = 419430400 .*83886080/) }]);
  });

  it("over budget with a default filling in the product", () => {
    // height defaults to 512: 1024*512*100 is twice sd15_basic's 26214400.
    const errors = errorsOf("sd15_basic", flux({ width: 1024, steps: 100 }));
    expect(errors).toEqual([{ path: "params", rule: "budget", message: expect.stringContaining("1024*512*100 = 52428800") }]);
  });
});

describe("validateParams accepts", () => {
  it("a bare prompt, filling every default and leaving seed \"random\" for the compiler", () => {
    const result = validateParams(catalog, workflow("flux_default"), { prompt: "a cat" });
    expect(result).toEqual({
      ok: true,
      values: {
        prompt: "a cat",
        seed: "random",
        width: 1024,
        height: 1024,
        steps: 20,
        lora: "None",
        lora_strength: 1,
        model: "flux1-dev-Q4_K_S.gguf",
        FBC_optimize: true,
      },
    });
  });

  it.each([
    ["an explicit seed", flux({ seed: 42 }), { seed: 42 }],
    ["the largest exact seed", flux({ seed: Number.MAX_SAFE_INTEGER }), { seed: Number.MAX_SAFE_INTEGER }],
    ['seed "random"', flux({ seed: "random" }), { seed: "random" }],
    ["a budget exactly at its limit", flux({ width: 2048, height: 2048, steps: 20 }), { width: 2048, steps: 20 }],
    ["a whole number for a float", flux({ lora_strength: 1 }), { lora_strength: 1 }],
    ["a boolean false", flux({ FBC_optimize: false }), { FBC_optimize: false }],
    ["a LoRA from loras.yaml", flux({ lora: "Flux-Scenery-LoRA.safetensors" }), { lora: "Flux-Scenery-LoRA.safetensors" }],
    ["4000 emoji (length counts characters, not UTF-16 units)", flux({ prompt: "😀".repeat(4000) }), {}],
    ["an empty prompt", flux({ prompt: "" }), { prompt: "" }],
  ])("%s", (_what, params, expected) => {
    const result = validateParams(catalog, workflow("flux_default"), params);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.values).toMatchObject(expected);
  });

  it("an uploaded image id and a denoise at its bounds", () => {
    for (const denoise of [0, 1]) {
      const result = validateParams(catalog, workflow("sd15_img2img"), img({ denoising_strength: denoise }));
      expect(result).toMatchObject({ ok: true, values: { input_image: UPLOAD, denoising_strength: denoise } });
    }
  });

  it("leaves out a parameter with no value and no default", () => {
    const result = validateParams(toy, workflow("toy"), {});
    expect(result).toEqual({ ok: true, values: { scale: 1, sampler: "euler" } });
  });
});

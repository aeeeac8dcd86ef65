import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifestDir } from "../../scripts/bundle-manifests.ts";
import { loadCatalog, type ManifestFiles } from "./catalog.ts";
import { LoraListViewSchema, loraView, WorkflowSummarySchema, workflowSummary, workflowView, WorkflowViewSchema } from "./views.ts";

const MANIFESTS = join(import.meta.dirname, "../../manifests");

/** The shipped manifests, read the way the build step reads them. */
const realFiles = (): ManifestFiles => readManifestDir(MANIFESTS);

const catalog = loadCatalog(realFiles());
const flux = catalog.workflows["flux_default"];
if (!flux) throw new Error("flux_default missing");

describe("workflowView", () => {
  it("lists every parameter with its rules, null where a rule is absent, and matches its schema", () => {
    const view = workflowView(flux);
    expect(WorkflowViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({ id: "flux_default", pool: "default", timeout_s: 600, budget: { max_pixel_steps: 83886080 } });
    expect(view.parameters.map((p) => p.name)).toEqual(Object.keys(flux.params));
    expect(view.parameters.find((p) => p.name === "prompt")).toEqual({
      name: "prompt",
      type: "string",
      default: null,
      required: true,
      min: null,
      max: null,
      multiple_of: null,
      choices: null,
      max_length: 4000,
      description: expect.any(String),
    });
    expect(view.parameters.find((p) => p.name === "seed")).toMatchObject({ default: "random", min: 0, max: Number.MAX_SAFE_INTEGER });
    expect(view.parameters.find((p) => p.name === "lora")?.choices).toContain("Flux-Ghibli-Art-LoRA.safetensors");
  });

  it("shows no budget for a workflow without one", () => {
    const img = catalog.workflows["sd15_img2img"];
    if (!img) throw new Error("sd15_img2img missing");
    expect(workflowView({ ...img, budget: undefined }).budget).toBeNull();
    // The shipped img2img workflow has one (its input image's pixels times steps).
    expect(workflowView(img).budget).toEqual({ max_pixel_steps: 26214400 });
    expect(workflowView(img).parameters[0]).toMatchObject({ name: "input_image", type: "image", required: true });
  });
});

describe("workflowSummary", () => {
  it("names the workflow's parameters and the required ones", () => {
    const summary = workflowSummary(flux);
    expect(WorkflowSummarySchema.parse(summary)).toEqual(summary);
    expect(summary).toMatchObject({ id: "flux_default", description: flux.description, pool: "default", required: ["prompt"] });
    expect(summary.parameters).toHaveLength(9);
  });
});

describe("loraView", () => {
  it("gives the original's shape: name, description, prefix, suffix, examples", () => {
    const view = loraView(catalog);
    expect(LoraListViewSchema.parse(view)).toEqual(view);
    expect(view.find((l) => l.name === "Flux-Scenery-LoRA.safetensors")).toEqual({
      name: "Flux-Scenery-LoRA.safetensors",
      description: expect.stringContaining("epic fantasy"),
      prefix: null,
      suffix: "scenery style",
      examples: [],
    });
    expect(view.map((l) => l.name)).toEqual(Object.keys(catalog.loras));
  });
});

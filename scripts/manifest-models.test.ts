import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelSpecsFromText } from "../install/models/config.ts";
import { loadCatalog } from "../shared/manifest/catalog.ts";
import { modelCatalogFromText } from "../shared/model-catalog/catalog.ts";
import { canonicalFolder, LOADER_INPUTS, type ModelRef } from "../shared/models.ts";
import { readManifestDir } from "./bundle-manifests.ts";
import { ROOT } from "./local/edge.ts";

const catalog = loadCatalog(readManifestDir(join(ROOT, "manifests")));
const ini = readFileSync(join(ROOT, "install/configs/models.ini"), "utf8");
/** The files `npm run models` downloads. */
const installed = modelSpecsFromText(ini);
/** Those plus the opt-in lines, commented out for their size (`#_ = <url>`): what the edge may have a rig fetch. */
const fetchable = modelCatalogFromText(ini).catalog;

const key = (ref: ModelRef) => `${canonicalFolder(ref.folder)}/${ref.name}`;
const has = (specs: typeof installed, ref: ModelRef) => specs.some((s) => key({ folder: s.section, name: s.fileName }) === key(ref));

type Graph = Record<string, { class_type?: string; inputs?: Record<string, unknown> }>;

/**
 * The models folders a parameter's value lands in: the target is a loader's file input, or a
 * value node (the flux graph's ParamUniversal) whose output is wired into one.
 */
function loaderFolders(graph: Graph, target: { node: string; input: string }): string[] {
  const direct = LOADER_INPUTS[graph[target.node]?.class_type ?? ""]?.[target.input];
  if (direct) return [direct];
  const folders: string[] = [];
  for (const node of Object.values(graph)) {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      const fromTarget = Array.isArray(value) && value[0] === target.node;
      const folder = LOADER_INPUTS[node.class_type ?? ""]?.[input];
      if (fromTarget && folder) folders.push(folder);
    }
  }
  return folders;
}

/**
 * Every model file the manifests name: what each graph loads whatever the parameters, each
 * parameter's default and choices where it feeds a loader input, and every LoRA in loras.yaml.
 */
function namedModels(): { needed: ModelRef[]; choices: ModelRef[] } {
  const needed: ModelRef[] = [];
  const choices: ModelRef[] = [];
  for (const workflow of Object.values(catalog.workflows)) {
    needed.push(...workflow.models);
    const graph = workflow.graph as Graph;
    for (const param of Object.values(workflow.params)) {
      for (const folder of param.targets.flatMap((target) => loaderFolders(graph, target))) {
        const isFile = (v: unknown): v is string => typeof v === "string" && v !== "None";
        if (isFile(param.default)) needed.push({ folder, name: param.default });
        for (const choice of param.choices ?? []) if (isFile(choice) && choice !== param.default) choices.push({ folder, name: choice });
      }
    }
  }
  for (const name of Object.keys(catalog.loras)) needed.push({ folder: "loras", name });
  return { needed, choices };
}

describe("install/configs/models.ini against the manifests", () => {
  const { needed, choices } = namedModels();

  it("downloads every model a workflow loads by default and every LoRA loras.yaml offers", () => {
    expect(needed.map(key)).toEqual(
      expect.arrayContaining(["checkpoints/v1-5-pruned-emaonly.safetensors", "loras/add_detail.safetensors", "loras/Flux-Anime-LoRA.safetensors", "unet/flux1-dev-Q4_K_S.gguf"]),
    );
    expect([...new Set(needed.filter((ref) => !has(installed, ref)).map(key))]).toEqual([]);
  });

  it("lists every other choice a parameter offers, at least as an opt-in (commented) line", () => {
    expect(choices.length).toBeGreaterThan(0);
    expect([...new Set(choices.filter((ref) => fetchable.find(ref) === null).map(key))]).toEqual([]);
  });

  it("the edge's fetch catalog offers every model the manifests name", () => {
    expect([...new Set([...needed, ...choices].filter((ref) => fetchable.find(ref) === null).map(key))]).toEqual([]);
  });
});

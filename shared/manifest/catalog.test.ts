import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readManifestDir } from "../../scripts/bundle-manifests.ts";
import { parseDocument } from "yaml";
import { isManifestError, loadCatalog, ManifestError, type ManifestFiles } from "./catalog.ts";

const MANIFESTS = join(import.meta.dirname, "../../manifests");

/** The shipped manifests, read the way the build step reads them. */
const realFiles = (): ManifestFiles => readManifestDir(MANIFESTS);

function setIn(files: ManifestFiles, file: string, path: (string | number)[], value: unknown): void {
  const doc = parseDocument(files[file] ?? "");
  doc.setIn(path, value);
  files[file] = doc.toString();
}

function deleteIn(files: ManifestFiles, file: string, path: (string | number)[]): void {
  const doc = parseDocument(files[file] ?? "");
  doc.deleteIn(path);
  files[file] = doc.toString();
}

function editJson(files: ManifestFiles, file: string, edit: (graph: Record<string, { inputs: Record<string, unknown> }>) => void): void {
  const graph = JSON.parse(files[file] ?? "{}");
  edit(graph);
  files[file] = JSON.stringify(graph);
}

describe("loadCatalog on the shipped manifests", () => {
  const catalog = loadCatalog(realFiles());

  it("loads the three shipped workflows with their pools, timeouts and budgets", () => {
    expect(Object.keys(catalog.workflows).sort()).toEqual(["flux_default", "sd15_basic", "sd15_img2img"]);
    const flux = catalog.workflows["flux_default"];
    expect(flux?.pool).toBe("default");
    expect(flux?.timeout_s).toBe(600);
    expect(flux?.budget).toEqual({ max_pixel_steps: 83886080 });
    expect(flux?.description).toBe("Optimized Flux T2I with full API control.");
  });

  it("maps flux_default's parameters to its Param nodes by _meta.title", () => {
    const params = catalog.workflows["flux_default"]?.params ?? {};
    expect(Object.keys(params)).toEqual(["prompt", "seed", "width", "height", "steps", "lora", "lora_strength", "model", "FBC_optimize"]);
    expect(params["width"]?.targets).toEqual([{ node: "63", input: "value" }]);
    expect(params["model"]?.targets).toEqual([{ node: "73", input: "value" }]);
    expect(params["prompt"]?.required).toBe(true);
    expect(params["steps"]).toMatchObject({ min: 1, max: 100, default: 20 });
  });

  it("offers None plus the flux LoRAs to flux_default and None plus the sd15 ones to sd15_basic", () => {
    expect(catalog.workflows["flux_default"]?.params["lora"]?.choices).toEqual([
      "None",
      "Flux-Ghibli-Art-LoRA.safetensors",
      "Flux-Scenery-LoRA.safetensors",
      "Flux-Anime-LoRA.safetensors",
      "Flux-Dev-Real-Anime-LoRA.safetensors",
      "Flux-Ghibsky-Art-LoRA.safetensors",
    ]);
    expect(catalog.workflows["sd15_basic"]?.params["lora"]?.choices).toEqual(["None", "add_detail.safetensors"]);
  });

  it("targets explicit node inputs in the core-node workflows, several at once where listed", () => {
    const sd15 = catalog.workflows["sd15_basic"]?.params ?? {};
    expect(sd15["width"]?.targets).toEqual([{ node: "5", input: "width" }]);
    expect(sd15["width"]).toMatchObject({ default: 512, max: 1024, min: 64 });
    expect(sd15["lora_strength"]?.targets).toEqual([
      { node: "10", input: "strength_model" },
      { node: "10", input: "strength_clip" },
    ]);
    const img = catalog.workflows["sd15_img2img"]?.params ?? {};
    expect(img["input_image"]).toMatchObject({ type: "image", required: true, targets: [{ node: "11", input: "image" }] });
    expect(img["denoising_strength"]).toMatchObject({ type: "float", min: 0, max: 1, default: 0.8 });
  });

  it("lists only the models fixed in each graph, not those a parameter chooses", () => {
    expect(catalog.workflows["flux_default"]?.models).toEqual([
      { folder: "vae", name: "ae.safetensors" },
      { folder: "clip", name: "t5-v1_1-xxl-encoder-Q5_K_M.gguf" },
      { folder: "clip", name: "clip_l.safetensors" },
    ]);
    expect(catalog.workflows["sd15_basic"]?.models).toEqual([{ folder: "checkpoints", name: "v1-5-pruned-emaonly.safetensors" }]);
  });

  it("keeps the seed's random default and clamps the random range to 2^53-1", () => {
    const seed = catalog.workflows["flux_default"]?.params["seed"];
    expect(seed?.default).toBe("random");
    expect(seed?.special_handlers).toEqual([
      { value: "random", action: "generate_random_int", args: { min: 0, max: Number.MAX_SAFE_INTEGER } },
    ]);
  });

  it("has LoRAs in the original's shape", () => {
    expect(catalog.loras["Flux-Scenery-LoRA.safetensors"]).toMatchObject({ suffix: "scenery style", examples: [] });
    expect(catalog.loras["Flux-Ghibli-Art-LoRA.safetensors"]?.examples).toEqual([]);
  });
});

describe("loadCatalog accepts the original service's manifest format", () => {
  it("reads type: file as image and a 2^64-1 random range as 0..2^53-1", () => {
    const files = realFiles();
    setIn(files, "base.yaml", ["input_image", "type"], "file");
    files["base.yaml"] += [
      "old_seed:",
      '  map_to: "seed"',
      '  type: "integer"',
      '  default: "random"',
      "  special_handlers:",
      '    - value: "random"',
      '      action: "generate_random_int"',
      "      args: { min: 0, max: 18446744073709551615 }",
      "",
    ].join("\n");
    setIn(files, "workflows.yaml", ["flux_default", "parameters", 1], "old_seed");
    const catalog = loadCatalog(files);
    expect(catalog.workflows["sd15_img2img"]?.params["input_image"]?.type).toBe("image");
    expect(catalog.workflows["flux_default"]?.params["old_seed"]?.special_handlers?.[0]?.args).toEqual({
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    });
  });

  it("needs no loras.yaml", () => {
    const files = realFiles();
    delete files["loras.yaml"];
    const catalog = loadCatalog(files);
    expect(catalog.loras).toEqual({});
    expect(catalog.workflows["flux_default"]?.params["lora"]?.choices).toEqual(["None"]);
  });
});

interface MistakeCase {
  mistake: string;
  edit: (files: ManifestFiles) => void;
  file: string;
  key: string | RegExp;
  reason: RegExp;
}

const MISTAKES: MistakeCase[] = [
  {
    mistake: "bad YAML",
    edit: (f) => (f["base.yaml"] = "width:\n  type: [integer\nheight: 3\n"),
    file: "base.yaml",
    key: /^line \d+$/,
    reason: /indent|flow|\]/i,
  },
  {
    mistake: "a duplicated YAML key",
    edit: (f) => (f["loras.yaml"] += '\n"add_detail.safetensors":\n  description: "again"\n'),
    file: "loras.yaml",
    key: /^line \d+$/,
    reason: /unique/,
  },
  { mistake: "an unknown type", edit: (f) => setIn(f, "base.yaml", ["steps", "type"], "tensor"), file: "base.yaml", key: "steps.type", reason: /unknown type "tensor"/ },
  { mistake: "a misspelt key", edit: (f) => setIn(f, "base.yaml", ["steps", "maxx"], 5), file: "base.yaml", key: "steps", reason: /unknown key "maxx"/ },
  {
    mistake: "a parameter base.yaml lacks",
    edit: (f) => setIn(f, "workflows.yaml", ["flux_default", "parameters", 4], "stepz"),
    file: "workflows.yaml",
    key: "flux_default.parameters[4]",
    reason: /^"stepz" is not defined in base\.yaml$/,
  },
  {
    mistake: "a parameter listed twice",
    edit: (f) => setIn(f, "workflows.yaml", ["flux_default", "parameters", 4], "width"),
    file: "workflows.yaml",
    key: "flux_default.parameters[4]",
    reason: /listed twice/,
  },
  {
    mistake: "an override of an unlisted parameter",
    edit: (f) => setIn(f, "workflows.yaml", ["flux_default", "overrides", "cfg"], { max: 10 }),
    file: "workflows.yaml",
    key: "flux_default.overrides.cfg",
    reason: /not among flux_default\.parameters/,
  },
  {
    mistake: "a title no graph has",
    edit: (f) => setIn(f, "base.yaml", ["steps", "map_to"], "stepz"),
    file: "workflows.yaml",
    key: "flux_default.parameters[4]",
    reason: /no node in workflows\/flux_default\.json has _meta\.title "stepz"/,
  },
  {
    mistake: "a node no graph has",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "map_to"], { node: "99", input: "width" }),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.map_to",
    reason: /node "99" is not in workflows\/sd15_basic\.json/,
  },
  {
    mistake: "a node id only Object.prototype has",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "map_to"], { node: "constructor", input: "width" }),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.map_to",
    reason: /node "constructor" is not in/,
  },
  {
    mistake: "an input name only Object.prototype has",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "map_to"], { node: "5", input: "toString" }),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.map_to",
    reason: /no input "toString"/,
  },
  {
    mistake: "an input the node lacks",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "map_to"], { node: "5", input: "widht" }),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.map_to",
    reason: /EmptyLatentImage.*no input "widht"/,
  },
  {
    mistake: "a target that is a link",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "map_to"], { node: "3", input: "model" }),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.map_to",
    reason: /is a link from node "10"/,
  },
  {
    mistake: "two parameters on one input",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "negative_prompt", "map_to"], { node: "6", input: "text" }),
    file: "workflows.yaml",
    key: "sd15_basic.parameters[1]",
    reason: /"negative_prompt" and "prompt" both set node "6" input "text"/,
  },
  { mistake: "a default above its max", edit: (f) => setIn(f, "base.yaml", ["steps", "default"], 500), file: "base.yaml", key: "steps.default", reason: /default must be at most 100, got 500/ },
  { mistake: "a default of the wrong type", edit: (f) => setIn(f, "base.yaml", ["FBC_optimize", "default"], "true"), file: "base.yaml", key: "FBC_optimize.default", reason: /must be true or false/ },
  { mistake: "a default off the multiple", edit: (f) => setIn(f, "base.yaml", ["width", "default"], 1001), file: "base.yaml", key: "width.default", reason: /multiple of 8/ },
  { mistake: "a default outside the choices", edit: (f) => setIn(f, "base.yaml", ["model", "default"], "sd.ckpt"), file: "base.yaml", key: "model.default", reason: /must be one of/ },
  {
    mistake: "an override default outside the override's limits",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "overrides", "width", "default"], 2048),
    file: "workflows.yaml",
    key: "sd15_basic.overrides.width.default",
    reason: /at most 1024/,
  },
  { mistake: "min above max", edit: (f) => setIn(f, "base.yaml", ["steps", "min"], 200), file: "base.yaml", key: "steps.min", reason: /min 200 is above max 100/ },
  { mistake: "a choice outside the limits", edit: (f) => setIn(f, "base.yaml", ["steps", "choices"], [10, 500]), file: "base.yaml", key: "steps.choices[1]", reason: /at most 100/ },
  { mistake: "max_length on an integer", edit: (f) => setIn(f, "base.yaml", ["steps", "max_length"], 5), file: "base.yaml", key: "steps.max_length", reason: /only to string/ },
  { mistake: "a fractional integer limit", edit: (f) => setIn(f, "base.yaml", ["steps", "max"], 99.5), file: "base.yaml", key: "steps.max", reason: /whole number/ },
  {
    mistake: "an unknown special handler action",
    edit: (f) => setIn(f, "base.yaml", ["seed", "special_handlers", 0, "action"], "roll_dice"),
    file: "base.yaml",
    key: "seed.special_handlers[0].action",
    reason: /generate_random_int/,
  },
  {
    mistake: "a special handler on a string",
    edit: (f) => setIn(f, "base.yaml", ["prompt", "special_handlers"], [{ value: "random", action: "generate_random_int" }]),
    file: "base.yaml",
    key: "prompt.special_handlers",
    reason: /only to integer/,
  },
  {
    mistake: "choices_from a family with no LoRAs",
    edit: (f) => {
      setIn(f, "base.yaml", ["lora", "choices_from"], "loras:sdxl");
      deleteIn(f, "base.yaml", ["lora", "choices"]);
      deleteIn(f, "base.yaml", ["lora", "default"]);
    },
    file: "base.yaml",
    key: "lora.choices_from",
    reason: /no choices/,
  },
  { mistake: "a missing workflow_file", edit: (f) => deleteIn(f, "workflows.yaml", ["flux_default", "workflow_file"]), file: "workflows.yaml", key: "flux_default.workflow_file", reason: /^is required$/ },
  {
    mistake: "a workflow_file that does not exist",
    edit: (f) => setIn(f, "workflows.yaml", ["flux_default", "workflow_file"], "nope.json"),
    file: "workflows.yaml",
    key: "flux_default.workflow_file",
    reason: /workflows\/nope\.json does not exist/,
  },
  {
    mistake: "a workflow_file outside workflows/",
    edit: (f) => setIn(f, "workflows.yaml", ["flux_default", "workflow_file"], "../secrets.json"),
    file: "workflows.yaml",
    key: "flux_default.workflow_file",
    reason: /inside workflows/,
  },
  { mistake: "a missing description", edit: (f) => deleteIn(f, "workflows.yaml", ["sd15_basic", "description"]), file: "workflows.yaml", key: "sd15_basic.description", reason: /required/ },
  { mistake: "a pool name with spaces", edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "pool"], "GPU Pool"), file: "workflows.yaml", key: "sd15_basic.pool", reason: /lowercase/ },
  { mistake: "a zero timeout", edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "timeout_s"], 0), file: "workflows.yaml", key: "sd15_basic.timeout_s", reason: /\S/ },
  {
    mistake: "a budget without steps",
    edit: (f) => deleteIn(f, "workflows.yaml", ["flux_default", "parameters", 4]),
    file: "workflows.yaml",
    key: "flux_default.budget",
    reason: /lacks steps/,
  },
  {
    mistake: "a LoRA with no description",
    edit: (f) => deleteIn(f, "loras.yaml", ["Flux-Scenery-LoRA.safetensors", "description"]),
    file: "loras.yaml",
    key: '["Flux-Scenery-LoRA.safetensors"].description',
    reason: /^is required$/,
  },
  {
    mistake: "an optional node the graph lacks",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "optional_nodes", "42"], { bypass_when: { param: "lora", equals: "None" }, reroute: {} }),
    file: "workflows.yaml",
    key: "sd15_basic.optional_nodes.42",
    reason: /node "42" is not in/,
  },
  {
    mistake: "a bypass that leaves an output unrouted",
    edit: (f) => deleteIn(f, "workflows.yaml", ["sd15_basic", "optional_nodes", "10", "reroute", 1]),
    file: "workflows.yaml",
    key: "sd15_basic.optional_nodes.10.reroute",
    reason: /uses output 1 of node "10"/,
  },
  {
    mistake: "a bypass rerouting a literal input",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "optional_nodes", "10", "reroute", 1], "lora_name"),
    file: "workflows.yaml",
    key: "sd15_basic.optional_nodes.10.reroute.1",
    reason: /no linked input "lora_name"/,
  },
  {
    mistake: "a bypass condition on an unlisted parameter",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "optional_nodes", "10", "bypass_when", "param"], "model"),
    file: "workflows.yaml",
    key: "sd15_basic.optional_nodes.10.bypass_when.param",
    reason: /not among sd15_basic\.parameters/,
  },
  {
    mistake: "a bypass condition no request can meet",
    edit: (f) => setIn(f, "workflows.yaml", ["sd15_basic", "optional_nodes", "10", "bypass_when", "equals"], "none"),
    file: "workflows.yaml",
    key: "sd15_basic.optional_nodes.10.bypass_when.equals",
    reason: /can never be sent/,
  },
  { mistake: "a graph that is not JSON", edit: (f) => (f["workflows/sd15_basic.json"] = "{ nope"), file: "workflows/sd15_basic.json", key: "(json)", reason: /JSON/ },
  {
    mistake: "a UI-format graph",
    edit: (f) => (f["workflows/sd15_basic.json"] = JSON.stringify({ nodes: [], links: [] })),
    file: "workflows/sd15_basic.json",
    key: "(root)",
    reason: /UI-format/,
  },
  {
    mistake: "a node without class_type",
    edit: (f) => editJson(f, "workflows/sd15_basic.json", (g) => delete (g["5"] as { class_type?: string }).class_type),
    file: "workflows/sd15_basic.json",
    key: "5.class_type",
    reason: /required/,
  },
  {
    mistake: "a link to a missing node",
    edit: (f) => editJson(f, "workflows/sd15_basic.json", (g) => void (g["3"]!.inputs["latent_image"] = ["77", 0])),
    file: "workflows/sd15_basic.json",
    key: "3.inputs.latent_image",
    reason: /node "77"/,
  },
  { mistake: "no workflows", edit: (f) => (f["workflows.yaml"] = "# nothing yet\n"), file: "workflows.yaml", key: "(root)", reason: /no workflows/ },
  { mistake: "a missing base.yaml", edit: (f) => delete f["base.yaml"], file: "base.yaml", key: "(file)", reason: /missing/ },
  { mistake: "a list where a mapping belongs", edit: (f) => (f["loras.yaml"] = "- a\n- b\n"), file: "loras.yaml", key: "(root)", reason: /mapping/ },
];

describe("loadCatalog refuses manifest mistakes at load, naming file, key and reason", () => {
  it.each(MISTAKES)("$mistake", ({ edit, file, key, reason }) => {
    const files = realFiles();
    edit(files);
    let error: unknown;
    try {
      loadCatalog(files);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect(isManifestError(error)).toBe(true);
    const { file: gotFile, key: gotKey, reason: gotReason, message } = error as ManifestError;
    expect({ file: gotFile, key: gotKey }).toEqual({ file, key: typeof key === "string" ? key : expect.stringMatching(key) });
    expect(gotReason).toMatch(reason);
    expect(message).toBe(`${gotFile}: ${gotKey}: ${gotReason}`);
  });

  it("words the message as file: key: reason", () => {
    const files = realFiles();
    setIn(files, "workflows.yaml", ["flux_default", "parameters", 4], "stepz");
    expect(() => loadCatalog(files)).toThrow('workflows.yaml: flux_default.parameters[4]: "stepz" is not defined in base.yaml');
  });
});

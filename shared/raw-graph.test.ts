import { describe, expect, it } from "vitest";
import { checkRawGraph, describeGraphErrors, findCycle, unsafeFileName, type RawGraphLimits } from "./raw-graph.ts";
import type { Graph } from "./manifest/schema.ts";

/** A small SD1.5 text-to-image graph as ComfyUI's "Export (API)" writes it. */
function sd15(): Record<string, any> {
  return {
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "v1-5-pruned-emaonly.safetensors" }, _meta: { title: "Load Checkpoint" } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: 512, height: 512, batch_size: 1 } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: "a red fox", clip: ["4", 1] } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: "", clip: ["4", 1] } },
    "3": {
      class_type: "KSampler",
      inputs: { seed: 42, steps: 20, cfg: 7, sampler_name: "euler", scheduler: "normal", denoise: 1, model: ["4", 0], positive: ["6", 0], negative: ["7", 0], latent_image: ["5", 0] },
    },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
    "9": { class_type: "SaveImage", inputs: { filename_prefix: "ComfyUI", images: ["8", 0] } },
  };
}

function errorsOf(graph: unknown, limits?: RawGraphLimits) {
  const r = checkRawGraph(graph, limits);
  if (r.ok) throw new Error("expected the graph to be refused");
  return r.errors;
}

describe("checkRawGraph accepts well-formed API-format graphs", () => {
  it("accepts an exported SD1.5 graph and returns it as is", () => {
    const g = sd15();
    const r = checkRawGraph(g);
    expect(r).toEqual({ ok: true, graph: g });
  });

  it("accepts subgraph node ids, nested literal values and nulls", () => {
    const g = { "12:5": { class_type: "Custom", inputs: { opts: { a: [1, 2, { b: null }] }, s: "x" } }, "9": { class_type: "SaveImage", inputs: { images: ["12:5", 0] } } };
    expect(checkRawGraph(g).ok).toBe(true);
  });
});

describe("checkRawGraph refuses, naming the node and the problem", () => {
  const cases: [string, (g: Record<string, any>) => unknown, string, string, RegExp][] = [
    ["a graph that is not an object", () => [1, 2], "graph", "type", /object of node ids/],
    ["an empty graph", () => ({}), "graph", "min", /no nodes/],
    ["a node that is not an object", (g) => ({ ...g, "10": "SaveImage" }), "graph.10", "type", /a node is an object/],
    ["a node without class_type", (g) => ({ ...g, "10": { inputs: {} } }), "graph.10.class_type", "required", /class name/],
    ["a non-string class_type", (g) => ({ ...g, "10": { class_type: 5, inputs: {} } }), "graph.10.class_type", "type", /class name/],
    ["a node without inputs", (g) => ({ ...g, "10": { class_type: "SaveImage" } }), "graph.10.inputs", "required", /object of input names/],
    ["inputs that are an array", (g) => ({ ...g, "10": { class_type: "SaveImage", inputs: [] } }), "graph.10.inputs", "type", /object of input names/],
    ["a prototype-named class_type", (g) => ({ ...g, "10": { class_type: "constructor", inputs: {} } }), "graph.10.class_type", "forbidden", /not a node class/],
    ["a class_type with a newline", (g) => ({ ...g, "10": { class_type: "Save\nImage", inputs: {} } }), "graph.10.class_type", "format", /control characters/],
    ["an unknown node field", (g) => ({ ...g, "10": { class_type: "X", inputs: {}, extra: 1 } }), "graph.10.extra", "unknown", /only class_type, inputs and _meta/],
    ["a non-string title", (g) => ({ ...g, "10": { class_type: "X", inputs: {}, _meta: { title: 3 } } }), "graph.10._meta.title", "type", /string/],
    ["a node id with a slash", (g) => ({ ...g, "a/b": { class_type: "X", inputs: {} } }), "graph.a/b", "node_id", /node ids are/],
    ["a node id too long", (g) => ({ ...g, ["n".repeat(65)]: { class_type: "X", inputs: {} } }), `graph.${"n".repeat(65)}`, "node_id", /1-64/],
    ["a constructor node id", (g) => ({ ...g, constructor: { class_type: "X", inputs: {} } }), "graph.constructor", "forbidden", /not allowed/],
    ["an array input that is not a link", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: [1, 2, 3] } } }), "graph.10.inputs.a", "link", /\["<node id>", <output index>\]/],
    ["a link with a numeric node id", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: [4, 0] } } }), "graph.10.inputs.a", "link", /node id a string/],
    ["a link with a negative index", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: ["4", -1] } } }), "graph.10.inputs.a", "link", /≥ 0/],
    ["a link to a missing node", (g) => ({ ...g, "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["99", 2] } } }), "graph.8.inputs.vae", "link", /links to node "99", which the graph lacks/],
    ["a string over the cap", (g) => ({ ...g, "6": { class_type: "CLIPTextEncode", inputs: { text: "x".repeat(65), clip: ["4", 1] } } }), "graph.6.inputs.text", "max_length", /at most 64 characters/],
    ["values nested too deep", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: { b: { c: { d: 1 } } } } } }), "graph.10.inputs.a.b.c", "max_depth", /nest at most 3/],
    ["an array input value too long", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: { list: [1, 2, 3, 4, 5] } } } }), "graph.10.inputs.a.list", "max_items", /at most 4 items/],
    ["a __proto__ input name", (g) => ({ ...g, "10": { class_type: "X", inputs: JSON.parse('{"__proto__": 1}') } }), "graph.10.inputs.__proto__", "forbidden", /not allowed/],
    ["a prototype key inside a value", (g) => ({ ...g, "10": { class_type: "X", inputs: { a: { prototype: 1 } } } }), "graph.10.inputs.a.prototype", "forbidden", /not allowed/],
    ["an absolute checkpoint path", (g) => ({ ...g, "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "/etc/passwd" } } }), "graph.4.inputs.ckpt_name", "path", /absolute path/],
    ["a Windows drive path", (g) => ({ ...g, "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "C:\\models\\x.safetensors" } } }), "graph.4.inputs.ckpt_name", "path", /absolute path/],
    ["a model name climbing out of its folder", (g) => ({ ...g, "10": { class_type: "LoraLoader", inputs: { lora_name: "sub/../../secret.safetensors", model: ["4", 0], clip: ["4", 1] } } }), "graph.10.inputs.lora_name", "path", /"\.\." segment/],
    ["a LoadImage name climbing out of input/", (g) => ({ ...g, "10": { class_type: "LoadImage", inputs: { image: "..\\..\\x.png" } } }), "graph.10.inputs.image", "path", /"\.\." segment/],
  ];
  const small: RawGraphLimits = { maxNodes: 500, maxStringChars: 64, maxDepth: 3, maxItems: 4 };
  for (const [name, make, path, rule, message] of cases) {
    it(name, () => {
      const errors = errorsOf(make(sd15()), small);
      expect(errors).toContainEqual({ path, rule, message: expect.stringMatching(message) });
    });
  }

  it("refuses a model name that reaches the loader through a value node, naming where the name is", () => {
    const g = { ...sd15(), "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: ["20", 0] } }, "20": { class_type: "PrimitiveString", inputs: { value: "../x.ckpt" } } };
    expect(errorsOf(g)).toEqual([{ path: "graph.20.inputs.value", rule: "path", message: expect.stringContaining('"../x.ckpt"') }]);
  });

  it("refuses more nodes than MAX_GRAPH_NODES allows, before looking at any", () => {
    const errors = errorsOf(sd15(), { maxNodes: 3, maxStringChars: 100, maxDepth: 4, maxItems: 10 });
    expect(errors).toEqual([{ path: "graph", rule: "max_nodes", message: "has 7 nodes; the limit is 3 (MAX_GRAPH_NODES)" }]);
  });

  it("refuses a cycle, naming the nodes on it", () => {
    const g = { ...sd15(), "3": { ...sd15()["3"], inputs: { ...sd15()["3"].inputs, latent_image: ["8", 0] } } };
    const [e] = errorsOf(g);
    expect(e!.rule).toBe("cycle");
    expect(e!.message).toMatch(/3 → 8 → 3|8 → 3 → 8/);
  });

  it("refuses a node linked to itself", () => {
    expect(errorsOf({ "1": { class_type: "X", inputs: { a: ["1", 0] } } })[0]).toMatchObject({ path: "graph.1", rule: "cycle" });
  });

  it("reports every shape problem at once, up to 20", () => {
    const g: Record<string, unknown> = {};
    for (let i = 0; i < 30; i++) g[String(i)] = { inputs: {} };
    const errors = errorsOf(g);
    expect(errors).toHaveLength(20);
    expect(describeGraphErrors(errors)).toBe("graph.0.class_type: must be the node's class name, a non-empty string (and 19 more problems; see details).");
  });
});

describe("findCycle", () => {
  it("walks a long acyclic chain without recursion and finds none", () => {
    const g: Graph = {};
    for (let i = 0; i < 5000; i++) g[String(i)] = { class_type: "X", inputs: i === 0 ? {} : { a: [String(i - 1), 0] } };
    expect(findCycle(g)).toBeNull();
  });
});

describe("unsafeFileName", () => {
  it("allows subfolders and names that merely contain dots", () => {
    expect(unsafeFileName("flux/flux1-dev..v2.safetensors")).toBeNull();
    expect(unsafeFileName("sub\\x.gguf")).toBeNull();
  });
  it("refuses control characters", () => {
    expect(unsafeFileName("a\u0000b")).toMatch(/control/);
  });
});

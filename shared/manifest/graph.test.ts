import { describe, expect, it } from "vitest";
import { bypassNode, graphModels, resolveInput } from "./graph.ts";
import type { Graph } from "./schema.ts";

describe("resolveInput", () => {
  it("follows links through value-holding nodes to the literal", () => {
    const graph: Graph = {
      "1": { class_type: "UNETLoader", inputs: { unet_name: ["2", 0], weight_dtype: "default" } },
      "2": { class_type: "ParamUniversal", inputs: { value: ["3", 0] } },
      "3": { class_type: "PrimitiveString", inputs: { value: "flux.safetensors" } },
    };
    expect(resolveInput(graph, { node: "1", input: "unet_name" })).toEqual({
      value: "flux.safetensors",
      path: [
        { node: "1", input: "unet_name" },
        { node: "2", input: "value" },
        { node: "3", input: "value" },
      ],
    });
  });

  it("gives up on a cycle or on a node that computes its output", () => {
    const graph: Graph = {
      "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: ["2", 0] } },
      "2": { class_type: "ParamUniversal", inputs: { value: ["3", 0] } },
      "3": { class_type: "ParamUniversal", inputs: { value: ["2", 0] } },
      "4": { class_type: "LoraLoader", inputs: { lora_name: ["5", 0] } },
      "5": { class_type: "StringConcatenate", inputs: { a: "x", b: "y" } },
    };
    expect(resolveInput(graph, { node: "1", input: "ckpt_name" }).value).toBeUndefined();
    expect(resolveInput(graph, { node: "4", input: "lora_name" }).value).toBeUndefined();
    expect(graphModels(graph)).toEqual([]);
  });
});

describe("graphModels", () => {
  it("lists each loader's files once, in graph order, skipping None and unknown node classes", () => {
    const graph: Graph = {
      "1": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "a.safetensors" } },
      "2": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "a.safetensors" } },
      "3": { class_type: "easy loraStack", inputs: { lora_1_name: "l1.safetensors", lora_2_name: "None", lora_3_name: "l3.safetensors" } },
      "4": { class_type: "SomeCustomLoader", inputs: { ckpt_name: "ignored.safetensors" } },
      "5": { class_type: "LoraLoaderModelOnly", inputs: { lora_name: "" } },
    };
    expect(graphModels(graph)).toEqual([
      { folder: "checkpoints", name: "a.safetensors" },
      { folder: "loras", name: "l1.safetensors" },
      { folder: "loras", name: "l3.safetensors" },
    ]);
  });
});

describe("bypassNode", () => {
  it("removes the node and hands each consumer the source of the matching input", () => {
    const graph: Graph = {
      "1": { class_type: "Src", inputs: {} },
      "2": { class_type: "Mid", inputs: { a: ["1", 0], b: ["1", 1] } },
      "3": { class_type: "Use", inputs: { x: ["2", 1], y: ["2", 0] } },
    };
    bypassNode(graph, "2", { "0": "a", "1": "b" });
    expect(graph).toEqual({
      "1": { class_type: "Src", inputs: {} },
      "3": { class_type: "Use", inputs: { x: ["1", 1], y: ["1", 0] } },
    });
  });

  it("refuses to leave a consumer dangling", () => {
    const graph: Graph = {
      "1": { class_type: "Src", inputs: {} },
      "2": { class_type: "Mid", inputs: { a: ["1", 0] } },
      "3": { class_type: "Use", inputs: { x: ["2", 1] } },
    };
    expect(() => bypassNode(graph, "2", { "0": "a" })).toThrow(/output 1/);
  });
});

import { describe, expect, test } from "vitest";
import { inventoryFromObjectInfo, readInventory } from "./inventory.ts";

describe("inventoryFromObjectInfo", () => {
  test("reads loader choices in both the list and the COMBO form", () => {
    const info = {
      CheckpointLoaderSimple: { input: { required: { ckpt_name: [["a.safetensors", "b.ckpt"], { tooltip: "x" }] } } },
      LoraLoader: { input: { required: { lora_name: ["COMBO", { options: ["style.safetensors"] }] } } },
      DualCLIPLoader: { input: { required: { clip_name1: [["t5.safetensors"]], clip_name2: [["clip_l.safetensors", "t5.safetensors"]] } } },
      VAELoader: { input: { required: { vae_name: [[]] } } },
      KSampler: { input: { required: { seed: ["INT", {}] } } },
    };
    expect(inventoryFromObjectInfo(info)).toEqual({
      checkpoints: ["a.safetensors", "b.ckpt"],
      loras: ["style.safetensors"],
      clip: ["t5.safetensors", "clip_l.safetensors"],
    });
  });

  test("tolerates junk", () => {
    expect(inventoryFromObjectInfo(null)).toEqual({});
    expect(inventoryFromObjectInfo({ CheckpointLoaderSimple: { input: "nope" } })).toEqual({});
  });
});

describe("readInventory", () => {
  test("lists /models folders, skipping non-model folders and empty ones", async () => {
    const routes: Record<string, unknown> = {
      "/models": ["checkpoints", "loras", "custom_nodes", "vae"],
      "/models/checkpoints": ["sd15.safetensors"],
      "/models/loras": [],
      "/models/vae": ["ae.safetensors"],
    };
    const asked: string[] = [];
    const inventory = await readInventory(async (path) => {
      asked.push(path);
      return routes[path] ?? null;
    });
    expect(inventory).toEqual({ checkpoints: ["sd15.safetensors"], vae: ["ae.safetensors"] });
    expect(asked).not.toContain("/models/custom_nodes");
  });

  test("falls back to each loader class's /object_info/{class} when /models is missing, under the edge's canonical folder names", async () => {
    const asked: string[] = [];
    const inventory = await readInventory(async (path) => {
      asked.push(path);
      return path === "/object_info/UNETLoader" ? { UNETLoader: { input: { required: { unet_name: [["flux1-dev.gguf"]] } } } } : null;
    });
    expect(inventory).toEqual({ unet: ["flux1-dev.gguf"] });
    // One loader class at a time, never the whole catalog.
    expect(asked).toContain("/object_info/easy%20loraStack");
    expect(asked).not.toContain("/object_info");
  });
});

describe("only real files", () => {
  test("built-in loader choices (VAELoader's pixel_space, TAESD names) are not model files", () => {
    const info = {
      VAELoader: { input: { required: { vae_name: [["ae.safetensors", "taesd", "pixel_space"]] } } },
      LoraLoader: { input: { required: { lora_name: [["None", "sub/style.safetensors"]] } } },
    };
    expect(inventoryFromObjectInfo(info)).toEqual({ vae: ["ae.safetensors"], loras: ["sub/style.safetensors"] });
  });

  test("an empty /models falls back to /object_info, whose pixel_space alone makes an empty inventory", async () => {
    const routes: Record<string, unknown> = {
      "/models": ["checkpoints", "vae"],
      "/models/checkpoints": [],
      "/models/vae": [],
      "/object_info/VAELoader": { VAELoader: { input: { required: { vae_name: [["pixel_space"]] } } } },
    };
    expect(await readInventory(async (path) => routes[path] ?? null)).toEqual({});
  });
});

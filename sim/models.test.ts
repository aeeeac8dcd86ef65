import { afterEach, describe, expect, test } from "vitest";
import { startSim, type Sim } from "./server.ts";

const sims: Sim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(inventory: Record<string, string[]>): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 0, inventory });
  sims.push(s);
  return s;
}

const get = async (s: Sim, path: string) => {
  const res = await fetch(`${s.url}${path}`);
  return { status: res.status, text: await res.text() };
};

// ComfyUI's server.py: `/models` lists folder_names_and_paths' keys (empty folders too); `/models/{folder}`
// answers an unknown folder with a bare 404 and a known one with get_filename_list (sorted, filtered by extension).
describe("/models as ComfyUI serves it", () => {
  test("lists every folder, empty or not; an unknown (or legacy on-disk) folder is a 404 with no body", async () => {
    const s = await sim({ checkpoints: ["b.safetensors", "a.ckpt", "notes.txt"], unet: ["flux.gguf"] });
    const folders = JSON.parse((await get(s, "/models")).text) as string[];
    expect(folders).toEqual(expect.arrayContaining(["checkpoints", "loras", "vae", "diffusion_models", "custom_nodes", "configs"]));
    expect(JSON.parse((await get(s, "/models/checkpoints")).text)).toEqual(["a.ckpt", "b.safetensors"]);
    expect(JSON.parse((await get(s, "/models/loras")).text)).toEqual([]);
    expect(JSON.parse((await get(s, "/api/models/unet_gguf")).text)).toEqual(["flux.gguf"]);
    expect(await get(s, "/models/nope")).toEqual({ status: 404, text: "" });
    expect(await get(s, "/models/unet")).toEqual({ status: 404, text: "" });
  });

  test("a model copied in or deleted while it runs shows at once, in /models and in the loaders' choices", async () => {
    const s = await sim({});
    s.addModel("checkpoints", "late.safetensors");
    expect(JSON.parse((await get(s, "/models/checkpoints")).text)).toEqual(["late.safetensors"]);
    const info = JSON.parse((await get(s, "/object_info/CheckpointLoaderSimple")).text) as { CheckpointLoaderSimple: { input: { required: { ckpt_name: unknown[] } } } };
    expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(["late.safetensors"]);
    const added = await fetch(`${s.url}/__sim/models/add`, { method: "POST", body: JSON.stringify({ dir: "unet", name: "x.gguf" }) });
    expect(added.status).toBe(200);
    expect(JSON.parse((await get(s, "/models/unet_gguf")).text)).toEqual(["x.gguf"]);
    expect(s.removeModel("late.safetensors")).toBe(true);
    expect(JSON.parse((await get(s, "/models/checkpoints")).text)).toEqual([]);
  });

  test("VAELoader offers the built-in pixel_space after the files, as nodes.py vae_list() does", async () => {
    const s = await sim({ vae: ["ae.safetensors"] });
    const info = JSON.parse((await get(s, "/object_info/VAELoader")).text) as { VAELoader: { input: { required: { vae_name: unknown[] } } } };
    expect(info.VAELoader.input.required.vae_name[0]).toEqual(["ae.safetensors", "pixel_space"]);
  });
});

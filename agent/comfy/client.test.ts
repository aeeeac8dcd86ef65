import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startSim } from "../../sim/server.ts";
import { CHECKPOINT, txt2img } from "../testing/graphs.ts";
import { TINY_PNG } from "../testing/until.ts";
import { ComfyClient } from "./client.ts";
import { ComfyError } from "./errors.ts";
import { runPrompt } from "./run.ts";

let sim: Awaited<ReturnType<typeof startSim>>;
let comfy: ComfyClient;

beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT], loras: ["style.safetensors"] } });
  comfy = new ComfyClient(sim.url);
});
afterAll(async () => {
  comfy.close();
  await sim.close();
});

describe("ComfyClient against the sim", () => {
  test("reads the model inventory and the GPU", async () => {
    const inventory = await comfy.inventory();
    expect(inventory.checkpoints).toContain(CHECKPOINT);
    expect(inventory.loras).toContain("style.safetensors");
    const stats = await comfy.systemStats();
    expect(stats.devices.length).toBeGreaterThan(0);
    expect(stats.devices[0]?.vram_total).toBeGreaterThan(0);
  });

  test("a 400 from /prompt is invalid_prompt carrying node_errors", async () => {
    const graph = txt2img();
    delete (graph["5"] as { inputs: Record<string, unknown> }).inputs.width;
    const err = await comfy.submit(graph, "client-400").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).code).toBe("invalid_prompt");
    const details = (err as ComfyError).details as { node_errors: Record<string, { errors: { type: string }[] }> };
    expect(details.node_errors["5"]?.errors[0]?.type).toBe("required_input_missing");
  });

  test("an unreachable ComfyUI is comfyui_unavailable", async () => {
    const dead = new ComfyClient("http://127.0.0.1:9");
    const err = await dead.queue().catch((e: unknown) => e);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
  });

  test("uploads an input image and reads it back by name", async () => {
    const uploaded = await comfy.uploadImage(new Blob([TINY_PNG], { type: "image/png" }), "client_test_in.png");
    expect(uploaded.name).toBe("client_test_in.png");
    const viewed = await comfy.view({ filename: uploaded.name, subfolder: uploaded.subfolder, type: "input" });
    expect(Buffer.concat(await viewed.body.toArray()).equals(TINY_PNG)).toBe(true);
  });

  test("views an output as PNG, and re-encoded when asked", async () => {
    const outcome = await runPrompt(comfy, { graph: txt2img({ prefix: "client_view" }), pollMs: 50 });
    if (!outcome.ok) throw new Error(outcome.error.message);
    const file = outcome.outputs[0];
    if (!file) throw new Error("no output");
    const png = await comfy.view(file);
    expect(png.contentType).toMatch(/^image\/png/);
    expect(Buffer.concat(await png.body.toArray()).subarray(1, 4).toString()).toBe("PNG");
    const webp = await comfy.view(file, { format: "webp", quality: 80 });
    expect(webp.contentType).toMatch(/^image\/webp/);
    webp.body.destroy();
  });

  test("queue, delete and interrupt by prompt id", async () => {
    const q = await comfy.queue();
    expect(q).toEqual({ running: [], pending: [] });
    await comfy.deleteQueued(["not-there"]);
    await comfy.interrupt("not-there");
    expect(await comfy.history("not-there")).toBeNull();
  });
});

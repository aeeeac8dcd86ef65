import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startSim } from "../sim/server.ts";
import { ComfyClient } from "./comfy/client.ts";
import type { ProducedFile } from "./comfy/outcome.ts";
import { runPrompt } from "./comfy/run.ts";
import { conversionFor, deliverOutputs } from "./deliver.ts";
import { CHECKPOINT, txt2img } from "./testing/graphs.ts";
import { startFixtureServer } from "./testing/http-fixtures.ts";

let sim: Awaited<ReturnType<typeof startSim>>;
let storage: Awaited<ReturnType<typeof startFixtureServer>>;
let comfy: ComfyClient;
let produced: ProducedFile[];

beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 2, inventory: { checkpoints: [CHECKPOINT] } });
  storage = await startFixtureServer();
  comfy = new ComfyClient(sim.url);
  const outcome = await runPrompt(comfy, { graph: txt2img({ prefix: "deliver" }), pollMs: 25 });
  if (!outcome.ok) throw new Error(outcome.error.message);
  produced = outcome.outputs;
});
afterAll(async () => {
  comfy.close();
  await storage.close();
  await sim.close();
});

const grant = () => ({ base_url: `${storage.url}/upload/job-1`, exp: 1_900_000_000, sig: "sig", max_files: 4, max_bytes: 10_000_000 });

describe("deliverOutputs", () => {
  test("uploads PNG outputs as they are", async () => {
    const before = storage.puts.length;
    const outputs = await deliverOutputs(comfy, produced, grant(), { type: "png", quality: 90 });
    expect(outputs).toHaveLength(1);
    const put = storage.puts[before];
    expect(put?.path).toBe("/upload/job-1/0");
    expect(put?.query.get("sig")).toBe("sig");
    expect(put?.headers["content-type"]).toBe("image/png");
    expect(put?.body.subarray(1, 4).toString()).toBe("PNG");
    expect(outputs[0]).toEqual({ key: "r2/upload/job-1/0", content_type: "image/png", bytes: put?.body.byteLength, filename: produced[0]?.filename, node_id: "9" });
  });

  test("webp is ComfyUI's own conversion: the stored file is WebP and named so", async () => {
    const before = storage.puts.length;
    const outputs = await deliverOutputs(comfy, produced, grant(), { type: "webp", quality: 85 });
    const put = storage.puts[before];
    expect(put?.headers["content-type"]).toBe("image/webp");
    expect(put?.body.subarray(0, 4).toString()).toBe("RIFF");
    expect(put?.body.subarray(8, 12).toString()).toBe("WEBP");
    expect(outputs[0]?.content_type).toBe("image/webp");
    expect(outputs[0]?.filename).toMatch(/\.webp$/);
    expect(outputs[0]?.bytes).toBe(put?.body.byteLength);
  });

  test("conversion applies to still images only", () => {
    const file = (filename: string): ProducedFile => ({ node_id: "9", key: "images", filename, subfolder: "", type: "output" });
    expect(conversionFor(file("a.png"), { type: "webp", quality: 90 })).toEqual({ format: "webp", quality: 90 });
    expect(conversionFor(file("a.png"), { type: "jpeg", quality: 70 })).toEqual({ format: "jpeg", quality: 70 });
    expect(conversionFor(file("a.png"), { type: "png", quality: 90 })).toBeUndefined();
    expect(conversionFor(file("a.gif"), { type: "webp", quality: 90 })).toBeUndefined();
    expect(conversionFor(file("a.mp4"), { type: "jpeg", quality: 90 })).toBeUndefined();
    expect(conversionFor(file("a.webp"), { type: "webp", quality: 90 })).toBeUndefined();
  });

  test("an animated webp is never re-encoded (ComfyUI's still preview would keep only its first frame)", () => {
    const anim: ProducedFile = { node_id: "9", key: "images", filename: "a_00001_.webp", subfolder: "", type: "output", animated: true };
    expect(conversionFor(anim, { type: "jpeg", quality: 90 })).toBeUndefined();
    expect(conversionFor({ ...anim, animated: false }, { type: "jpeg", quality: 90 })).toEqual({ format: "jpeg", quality: 90 });
  });
});

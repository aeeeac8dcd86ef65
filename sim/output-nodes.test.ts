import { PNG } from "pngjs";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { getJson, sd15Prompt, submit, TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 0 });
});
afterAll(() => sim.close());

const inputs = (p: Graph, id: string): Record<string, unknown> => (p[id] as { inputs: Record<string, unknown> }).inputs;

function withOutput(seed: number, output: Graph[string]): Graph {
  const p = sd15Prompt();
  Object.assign(inputs(p, "3"), { seed, steps: 1 });
  Object.assign(inputs(p, "5"), { width: 128, height: 96 });
  p["9"] = output;
  return p;
}

describe("SaveImageWebsocket", () => {
  it("delivers the image only as a binary frame, never cached, absent from history outputs", async () => {
    const client = await TestClient.connect(sim);
    const prompt = withOutput(1, { class_type: "SaveImageWebsocket", inputs: { images: ["8", 0] } });
    for (let run = 0; run < 2; run++) {
      client.binaries.length = 0;
      const id = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
      await client.finished(id);
      const full = client.binaries.at(-1) as Buffer;
      expect([full.readUInt32BE(0), full.readUInt32BE(4)]).toEqual([1, 2]);
      const png = PNG.sync.read(full.subarray(8));
      expect([png.width, png.height]).toEqual([128, 96]);
      expect(client.messages.some((m) => m.type === "executed" && m.data.prompt_id === id && m.data.node === "9" && m.data.output)).toBe(false);
      expect(((await getJson(sim, `/history/${id}`))[id] as { outputs: unknown }).outputs).toEqual({});
      expect(client.trace(id)).toContain("executing:9");
    }
    client.close();
  });
});

describe("PreviewImage", () => {
  it("saves to temp with a random prefix, viewable with type=temp", async () => {
    const client = await TestClient.connect(sim);
    const id = (await submit(sim, withOutput(2, { class_type: "PreviewImage", inputs: { images: ["8", 0] } }), client.clientId)).body.prompt_id as string;
    await client.finished(id);
    const executed = await client.next("executed", (d) => d.prompt_id === id && d.node === "9");
    const [image] = (executed.data.output as { images: { filename: string; subfolder: string; type: string }[] }).images;
    expect(image).toEqual({ filename: expect.stringMatching(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/), subfolder: "", type: "temp" });
    expect((await fetch(`${sim.url}/view?filename=${image?.filename}&type=temp`)).status).toBe(200);
    client.close();
  });
});

describe("feature_flags", () => {
  it("answers a client's feature_flags and then sends previews with metadata (type 4)", async () => {
    const ws = new WebSocket(`${sim.url.replace("http", "ws")}/ws?clientId=flags`);
    const texts: { type: string; data: Record<string, unknown> }[] = [];
    const frames: Buffer[] = [];
    ws.on("message", (raw, binary) => (binary ? frames.push(raw as Buffer) : texts.push(JSON.parse(String(raw)))));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "feature_flags", data: { supports_preview_metadata: true } }));
    const until = async (check: () => boolean): Promise<void> => {
      for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(() => texts.some((t) => t.type === "feature_flags"));
    expect(texts.find((t) => t.type === "feature_flags")?.data).toEqual({ supports_preview_metadata: true, max_upload_size: 104857600 });
    const id = (await submit(sim, withOutput(3, { class_type: "SaveImage", inputs: { images: ["8", 0], filename_prefix: "f" } }), "flags")).body.prompt_id;
    await until(() => texts.some((t) => t.type === "executing" && t.data.node === null && t.data.prompt_id === id));
    const frame = frames[0] as Buffer;
    expect(frame.readUInt32BE(0)).toBe(4);
    const metaLength = frame.readUInt32BE(4);
    expect(JSON.parse(frame.subarray(8, 8 + metaLength).toString())).toEqual({
      node_id: "3", prompt_id: id, display_node_id: "3", parent_node_id: null, real_node_id: "3", image_type: "image/png",
    });
    ws.close();
  });
});

import { get, type IncomingHttpHeaders } from "node:http";
import { PNG } from "pngjs";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "./png.ts";
import { type Sim, startSim } from "./server.ts";
import { sd15Prompt, submit, TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 0 });
});
afterAll(() => sim.close());

const inputs = (p: Graph, id: string): Record<string, unknown> => (p[id] as { inputs: Record<string, unknown> }).inputs;
type Image = { filename: string; subfolder: string; type: string };

/** Runs a prompt to the end and returns the images its output node reported. */
async function run(target: Sim, prompt: Graph): Promise<Image[]> {
  const client = await TestClient.connect(target);
  const res = await submit(target, prompt, client.clientId);
  expect(res.status).toBe(200);
  const id = res.body.prompt_id as string;
  await client.finished(id);
  client.close();
  const executed = client.messages.find((m) => m.type === "executed" && m.data.prompt_id === id && m.data.output);
  return ((executed?.data.output as { images: Image[] }) ?? { images: [] }).images;
}

/** A GET through node:http, which shows the framing headers (Content-Length, Transfer-Encoding) as sent. */
function rawGet(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
}

async function view(target: Sim, query: Record<string, string>): Promise<Response> {
  return fetch(`${target.url}/view?${new URLSearchParams(query)}`);
}

function t2i(seed: number, text: string, width = 512, height = 512, batch = 1): Graph {
  const p = sd15Prompt();
  Object.assign(inputs(p, "3"), { seed, steps: 1 });
  inputs(p, "6").text = text;
  Object.assign(inputs(p, "5"), { width, height, batch_size: batch });
  return p;
}

describe("output images", () => {
  it("are real PNGs of the requested size, named ComfyUI_00001_.png counting up", async () => {
    const [first] = await run(sim, t2i(1, "a red fox", 320, 192));
    expect(first).toEqual({ filename: "ComfyUI_00001_.png", subfolder: "", type: "output" });
    const res = await view(sim, { filename: first?.filename ?? "", subfolder: "", type: "output" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    expect([png.width, png.height]).toEqual([320, 192]);

    const batch = await run(sim, t2i(2, "two foxes", 64, 64, 2));
    expect(batch.map((i) => i.filename)).toEqual(["ComfyUI_00002_.png", "ComfyUI_00003_.png"]);
  });

  it("follow from seed and prompt text: the same inputs give the same bytes, another seed other bytes", async () => {
    const other = await startSim({ port: 0, stepMs: 0 });
    try {
      const fetchImage = async (target: Sim, img: Image | undefined): Promise<Buffer> =>
        Buffer.from(await (await view(target, { filename: img?.filename ?? "", type: "output" })).arrayBuffer());
      const a = await fetchImage(sim, (await run(sim, t2i(99, "same words")))[0]);
      const b = await fetchImage(other, (await run(other, t2i(99, "same words")))[0]);
      const c = await fetchImage(other, (await run(other, t2i(100, "same words")))[0]);
      expect(a.equals(b)).toBe(true);
      expect(a.equals(c)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it("go into the prefix's subfolder", async () => {
    const p = t2i(5, "in a folder", 64, 64);
    inputs(p, "9").filename_prefix = "jobs/run";
    expect(await run(sim, p)).toEqual([{ filename: "run_00001_.png", subfolder: "jobs", type: "output" }]);
    expect((await view(sim, { filename: "run_00001_.png", subfolder: "jobs", type: "output" })).status).toBe(200);
  });
});

describe("GET /view", () => {
  it("refuses traversal as ComfyUI does: 400 for the name, 403 for the subfolder", async () => {
    expect((await view(sim, { filename: "../secret.png", type: "output" })).status).toBe(400);
    expect((await view(sim, { filename: "/etc/passwd", type: "output" })).status).toBe(400);
    expect((await view(sim, { filename: "ComfyUI_00001_.png", subfolder: "../..", type: "output" })).status).toBe(403);
    expect((await view(sim, { filename: "ComfyUI_00001_.png", type: "nope" })).status).toBe(400);
    expect((await view(sim, { filename: "absent.png", type: "output" })).status).toBe(404);
    expect((await fetch(`${sim.url}/view`)).status).toBe(404);
  });

  it("sends Content-Length as aiohttp does (a file, an empty 404, a JSON answer), never chunked encoding", async () => {
    const [img] = await run(sim, t2i(8, "length me", 64, 48));
    const file = await rawGet(`${sim.url}/view?${new URLSearchParams({ filename: img?.filename ?? "", type: "output" })}`);
    expect([file.status, file.headers["content-length"], file.headers["transfer-encoding"]]).toEqual([200, String(file.body.length), undefined]);
    expect(file.body.subarray(1, 4).toString("latin1")).toBe("PNG");
    const absent = await rawGet(`${sim.url}/view?filename=absent.png&type=output`);
    expect([absent.status, absent.headers["content-length"], absent.headers["transfer-encoding"]]).toEqual([404, "0", undefined]);
    const stats = await rawGet(`${sim.url}/system_stats`);
    expect([stats.headers["content-length"], stats.headers["transfer-encoding"]]).toEqual([String(stats.body.length), undefined]);
  });

  it("converts with preview=webp;90 and preview=jpeg;80", async () => {
    const [img] = await run(sim, t2i(7, "preview me", 96, 80));
    for (const [preview, type] of [["webp;90", "image/webp"], ["jpeg;80", "image/jpeg"]]) {
      const res = await view(sim, { filename: img?.filename ?? "", type: "output", preview: preview as string });
      expect(res.headers.get("content-type")).toBe(type);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([type?.split("/")[1], 96, 80]);
    }
  });
});

describe("POST /upload/image", () => {
  async function upload(name: string, png: Buffer, fields: Record<string, string> = {}): Promise<Response> {
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array(png)], { type: "image/png" }), name);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return fetch(`${sim.url}/upload/image`, { method: "POST", body: form });
  }

  it("stores the file, renames a different file of the same name, and LoadImage then uses it at its size", async () => {
    const picture = encodePng(300, 200, 1);
    const res = await upload("photo.png", picture);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: "photo.png", subfolder: "", type: "input" });
    expect(await (await upload("photo.png", picture)).json()).toEqual({ name: "photo.png", subfolder: "", type: "input" });
    expect(await (await upload("photo.png", encodePng(10, 10, 2))).json()).toEqual({ name: "photo (1).png", subfolder: "", type: "input" });
    expect(await (await upload("nested.png", picture, { subfolder: "mine" })).json()).toEqual({ name: "nested.png", subfolder: "mine", type: "input" });
    expect((await upload("x.png", picture, { subfolder: "../../escape" })).status).toBe(400);

    for (const name of ["photo.png", "mine/nested.png"]) {
      const p = sd15Prompt();
      p["11"] = { class_type: "LoadImage", inputs: { image: name } };
      p["12"] = { class_type: "VAEEncode", inputs: { pixels: ["11", 0], vae: ["4", 2] } };
      Object.assign(inputs(p, "3"), { latent_image: ["12", 0], steps: 1, denoise: 0.8 });
      delete p["5"];
      const [out] = await run(sim, p);
      const file = Buffer.from(await (await view(sim, { filename: out?.filename ?? "", type: "output" })).arrayBuffer());
      const png = PNG.sync.read(file);
      expect([png.width, png.height]).toEqual([300, 200]);
    }
  });

  it("lets validation refuse a LoadImage of a file that is not there", async () => {
    const p = sd15Prompt();
    p["11"] = { class_type: "LoadImage", inputs: { image: "never-uploaded.png" } };
    p["12"] = { class_type: "VAEEncode", inputs: { pixels: ["11", 0], vae: ["4", 2] } };
    inputs(p, "3").latent_image = ["12", 0];
    const res = await submit(sim, p);
    expect(res.status).toBe(400);
    expect((res.body.node_errors as Record<string, { errors: unknown[] }>)["11"]?.errors).toEqual([{
      type: "custom_validation_failed", message: "Custom validation failed for node",
      details: "image - Invalid image file: never-uploaded.png", extra_info: { input_name: "image" },
    }]);
  });
});

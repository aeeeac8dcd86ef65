import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { getJson, sd15Prompt, submit, TestClient } from "./testing.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function modelsDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sim-models-test-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) put(dir, rel, content);
  return dir;
}

function put(dir: string, rel: string, content = "weights"): void {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), content);
}

async function sim(opts: Parameters<typeof startSim>[0]): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 0, ...opts });
  cleanups.push(() => s.close());
  return s;
}

const list = async (s: Sim, folder: string): Promise<unknown> => (await fetch(`${s.url}/models/${folder}`)).json();
const ckptChoices = async (s: Sim): Promise<unknown> => {
  const info = (await getJson(s, "/object_info/CheckpointLoaderSimple")) as { CheckpointLoaderSimple: { input: { required: { ckpt_name: unknown[] } } } };
  return info.CheckpointLoaderSimple.input.required.ckpt_name[0];
};

describe("a models folder on disk (--models-dir), as ComfyUI's models/", () => {
  test("lists what is on disk by folder: subfolders with '/', legacy unet/ and clip/ merged, other extensions left out", async () => {
    const dir = modelsDir({
      "checkpoints/sd15.safetensors": "x",
      "checkpoints/README.txt": "not a model",
      "loras/styles/ink.safetensors": "x",
      "unet/flux.gguf": "x",
      "clip/clip_l.safetensors": "x",
      "text_encoders/t5.safetensors": "x",
    });
    const s = await sim({ modelsDir: dir });
    expect(s.dirs.models).toBe(dir);
    expect(await list(s, "checkpoints")).toEqual(["sd15.safetensors"]);
    expect(await list(s, "loras")).toEqual(["styles/ink.safetensors"]);
    expect(await list(s, "unet_gguf")).toEqual(["flux.gguf"]);
    expect(await list(s, "diffusion_models")).toEqual([]);
    expect(await list(s, "text_encoders")).toEqual(["clip_l.safetensors", "t5.safetensors"]);
    expect((await fetch(`${s.url}/models/unet`)).status).toBe(404);
  });

  test("a file that appears while it runs (written, renamed from a partial download, in a new subfolder) shows without a restart", async () => {
    const dir = modelsDir({ "checkpoints/a.safetensors": "x" });
    const s = await sim({ modelsDir: dir });
    expect(await ckptChoices(s)).toEqual(["a.safetensors"]);
    put(dir, "checkpoints/b.safetensors");
    expect(await ckptChoices(s)).toEqual(["a.safetensors", "b.safetensors"]);
    put(dir, "checkpoints/c.safetensors.part");
    expect(await list(s, "checkpoints")).toEqual(["a.safetensors", "b.safetensors"]);
    renameSync(path.join(dir, "checkpoints/c.safetensors.part"), path.join(dir, "checkpoints/c.safetensors"));
    put(dir, "checkpoints/new/d.safetensors");
    expect(await list(s, "checkpoints")).toEqual(["a.safetensors", "b.safetensors", "c.safetensors", "new/d.safetensors"]);
    rmSync(path.join(dir, "checkpoints/a.safetensors"));
    expect(await list(s, "checkpoints")).toEqual(["b.safetensors", "c.safetensors", "new/d.safetensors"]);
  });

  test("prompt validation and the loaders follow the disk: refused before the file is there, run once it is", async () => {
    const dir = modelsDir({});
    const s = await sim({ modelsDir: dir });
    const refused = await submit(s, sd15Prompt());
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.node_errors)).toContain("value_not_in_list");
    put(dir, "checkpoints/v1-5-pruned-emaonly.safetensors");
    const client = await TestClient.connect(s);
    cleanups.push(() => client.close());
    const ok = await submit(s, sd15Prompt(), client.clientId);
    expect(ok.status).toBe(200);
    const promptId = ok.body.prompt_id as string;
    await client.finished(promptId);
    expect(client.trace(promptId)).toContain("execution_success");
  });

  test("a file deleted after validation fails its loader with ComfyUI's FileNotFoundError", async () => {
    const dir = modelsDir({ "checkpoints/slow.safetensors": "x", "checkpoints/gone.safetensors": "x" });
    const s = await sim({ modelsDir: dir, stepMs: 20 });
    const client = await TestClient.connect(s);
    cleanups.push(() => client.close());
    const graph = (ckpt: string, steps: number) => {
      const g = sd15Prompt();
      (g["4"] as { inputs: Record<string, unknown> }).inputs.ckpt_name = ckpt;
      (g["3"] as { inputs: Record<string, unknown> }).inputs.steps = steps;
      return g;
    };
    // The first prompt holds the queue (50 steps) while the second one's file goes away.
    const first = await submit(s, graph("slow.safetensors", 50), client.clientId);
    const second = await submit(s, graph("gone.safetensors", 1), client.clientId);
    expect([first.status, second.status]).toEqual([200, 200]);
    rmSync(path.join(dir, "checkpoints/gone.safetensors"));
    const error = await client.next("execution_error", (d) => d.prompt_id === second.body.prompt_id);
    expect(error.data).toMatchObject({
      node_type: "CheckpointLoaderSimple",
      exception_type: "FileNotFoundError",
      // ComfyUI appends the (here empty) tips line.
      exception_message: "Model in folder 'checkpoints' with filename 'gone.safetensors' not found.\n",
    });
    expect(client.trace(first.body.prompt_id as string)).toContain("execution_success");
  });

  test("an inventory (--models) becomes placeholder files; a file already there is never overwritten", async () => {
    const dir = modelsDir({ "loras/mine.safetensors": "the user's weights" });
    const s = await sim({ modelsDir: dir, inventory: { loras: ["mine.safetensors", "sub/extra.safetensors"], unet: ["f.gguf"] } });
    expect(readFileSync(path.join(dir, "loras/mine.safetensors"), "utf8")).toBe("the user's weights");
    expect(existsSync(path.join(dir, "loras/sub/extra.safetensors"))).toBe(true);
    expect(await list(s, "loras")).toEqual(["mine.safetensors", "sub/extra.safetensors"]);
    await s.close();
    expect(existsSync(path.join(dir, "loras/mine.safetensors"))).toBe(true);
  });

  test("without --models-dir the default inventory lives in a temp models folder, gone once the sim closes", async () => {
    const s = await startSim({ port: 0, stepMs: 0 });
    expect(await list(s, "checkpoints")).toEqual(["v1-5-pruned-emaonly.safetensors"]);
    expect(existsSync(path.join(s.dirs.models, "unet", "flux1-dev-Q4_K_S.gguf"))).toBe(true);
    s.addModel("loras", "late.safetensors");
    expect(await list(s, "loras")).toContain("late.safetensors");
    expect(s.removeModel("late.safetensors")).toBe(true);
    expect(await list(s, "loras")).not.toContain("late.safetensors");
    await s.close();
    expect(existsSync(s.dirs.models)).toBe(false);
  });
});

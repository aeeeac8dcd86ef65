import { afterEach, describe, expect, test } from "vitest";
import { EXTRA_NODES_MODULE } from "./extra-nodes.ts";
import { ExtraNodesError, type Sim, startSim } from "./server.ts";
import { getJson, sd15Prompt, submit, TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(extraNodes?: string[]): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 0, ...(extraNodes ? { extraNodes } : {}) });
  cleanups.push(() => s.close());
  return s;
}

/** SD1.5 with the decoded image passed through `classType` before SaveImage. */
function withCustomNode(classType: string): Graph {
  const g = sd15Prompt();
  g["20"] = { class_type: classType, inputs: { image: ["8", 0], strength: 0.5 } };
  g["9"] = { class_type: "SaveImage", inputs: { filename_prefix: "ComfyUI", images: ["20", 0] } };
  return g;
}

describe("extra node classes per sim (a rig's own custom nodes)", () => {
  test("are listed in /object_info as a custom node's classes, next to the built-in ones", async () => {
    const s = await sim(["SharpenPlus", "Film Grain (sim)"]);
    const all = await getJson(s, "/object_info");
    expect(Object.keys(all)).toEqual(expect.arrayContaining(["KSampler", "SharpenPlus", "Film Grain (sim)"]));
    const one = await getJson(s, `/object_info/${encodeURIComponent("Film Grain (sim)")}`);
    expect(one["Film Grain (sim)"]).toMatchObject({
      input: { required: { image: ["IMAGE"], strength: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }] } },
      input_order: { required: ["image", "strength"] },
      output: ["IMAGE"],
      output_name: ["image"],
      name: "Film Grain (sim)",
      python_module: EXTRA_NODES_MODULE,
      output_node: false,
    });
    expect(EXTRA_NODES_MODULE.startsWith("custom_nodes.")).toBe(true);
  });

  test("run in a prompt, and change the image they pass on", async () => {
    const s = await sim(["SharpenPlus"]);
    const client = await TestClient.connect(s);
    cleanups.push(() => client.close());
    const plain = await submit(s, sd15Prompt(), client.clientId);
    const custom = await submit(s, withCustomNode("SharpenPlus"), client.clientId);
    expect([plain.status, custom.status]).toEqual([200, 200]);
    await client.finished(custom.body.prompt_id as string);
    expect(client.trace(custom.body.prompt_id as string)).toEqual(expect.arrayContaining(["executing:20", "execution_success"]));
    const history = await getJson(s, `/history/${custom.body.prompt_id as string}`);
    const saved = (history[custom.body.prompt_id as string] as { outputs: Record<string, { images: { filename: string }[] }> }).outputs["9"]?.images ?? [];
    expect(saved).toHaveLength(1);
    const bytes = async (p: string) => Buffer.from(await (await fetch(`${s.url}/view?filename=${p}&type=output`)).arrayBuffer());
    expect((await bytes("ComfyUI_00001_.png")).equals(await bytes(saved[0]!.filename))).toBe(false);
  });

  test("without them a prompt naming the class is refused as ComfyUI 0.3.64 refuses an unknown class_type", async () => {
    const s = await sim();
    const res = await submit(s, withCustomNode("SharpenPlus"));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { type: "invalid_prompt", message: "Cannot execute because node SharpenPlus does not exist.", details: "Node ID '#20'", extra_info: {} },
      node_errors: {},
    });
    expect(await getJson(s, "/object_info/SharpenPlus")).toEqual({});
  });

  test("a restart can bring other custom nodes, as a ComfyUI restarted after installing one", async () => {
    const s = await sim(["SharpenPlus"]);
    await s.crash({ extraNodes: ["GrainPlus"] });
    const classes = Object.keys(await getJson(s, "/object_info"));
    expect(classes).toContain("GrainPlus");
    expect(classes).not.toContain("SharpenPlus");
    expect((await submit(s, withCustomNode("SharpenPlus"))).status).toBe(400);
    expect((await submit(s, withCustomNode("GrainPlus"))).status).toBe(200);
  });

  test("a name the sim already has, or an empty one, is refused at start", async () => {
    await expect(startSim({ port: 0, extraNodes: ["KSampler"] })).rejects.toBeInstanceOf(ExtraNodesError);
    await expect(startSim({ port: 0, extraNodes: [" "] })).rejects.toThrow(/1 to 256 characters/);
  });
});

describe("/system_stats", () => {
  test("reports ComfyUI's version as server.py does (system.comfyui_version)", async () => {
    const s = await sim();
    const stats = (await getJson(s, "/system_stats")) as { system: Record<string, unknown> };
    expect(stats.system.comfyui_version).toBe("0.3.64");
    expect(stats.system.os).toBe("posix");
  });
});

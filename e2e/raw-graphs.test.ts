import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim, type Sim } from "../sim/server.ts";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, FAST_AGENT, sd15RawGraph, testKeys } from "./helpers.ts";

describe("raw graphs over the real stack, routed by the node classes each rig has", () => {
  let stack: Stack;
  let custom: Sim;
  let api: Api;

  beforeAll(async () => {
    stack = await startStack({ keys: testKeys("raw"), agents: 1, sim: { stepMs: 5 }, agent: FAST_AGENT });
    // A second rig whose ComfyUI has a custom node the first lacks.
    custom = await startSim({ port: 0, stepMs: 5, extraNodes: ["RigOnlyTint"] });
    await stack.addAgent(1, { comfyUrl: custom.url, comfyDir: custom.dirs.base, modelsDir: custom.dirs.models, name: "custom-rig" });
    api = new Api(stack.edge.url, stack.keys.client);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await custom?.close();
  });

  const submit = (graph: Record<string, unknown>, key = stack.keys.client) =>
    fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ graph }),
    });

  it("runs a raw graph from a raw-capable key and serves its image, with no workflow and the graph's digest", async () => {
    const res = await submit(sd15RawGraph({ prompt: "raw and plain" }));
    expect(res.status).toBe(202);
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await api.waitFor(task_id, undefined, 30_000);
    expect(task.status, JSON.stringify(task.error)).toBe("SUCCESS");
    expect(task.workflow_id).toBeNull();
    expect(task.graph_sha256).toMatch(/^[0-9a-f]{64}$/);
    const image = await fetch(task.result!.outputs[0]!.url);
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
  });

  it("refuses a raw graph from a key without raw, with 403 raw_not_allowed", async () => {
    const res = await submit(sd15RawGraph({ prompt: "not allowed" }), stack.keys.others!.other!);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("raw_not_allowed");
  });

  it("runs a graph naming a node class only one of two rigs has on that rig", async () => {
    const before = { plain: stack.sims[0]!.stats().promptsReceived, custom: custom.stats().promptsReceived };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await submit(sd15RawGraph({ prompt: `tinted ${i}`, imageNode: "RigOnlyTint" }));
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    const done = await Promise.all(ids.map((id) => api.waitFor(id, undefined, 30_000)));
    expect(done.map((t) => t.status)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"]);
    expect(custom.stats().promptsReceived - before.custom).toBe(3);
    expect(stack.sims[0]!.stats().promptsReceived - before.plain).toBe(0);
  });

  it("refuses a graph naming a class no connected rig has with 422 unknown_node, naming it", async () => {
    const res = await submit(sd15RawGraph({ prompt: "nowhere", imageNode: "NoRigHasThis" }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unknown_node");
    expect(body.error.message).toContain("NoRigHasThis");
  });
});

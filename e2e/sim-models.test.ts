import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareSimModels } from "../scripts/local/sim-models.ts";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, FAST_AGENT, testKeys, until } from "./helpers.ts";

type AgentRow = { agent_id: string; inventory: Record<string, string[]> };

/** The local stack as `npm start` runs it: the stand-in's models folder on disk, the agent told where it is. */
describe("the local stack's models folder and node catalog", () => {
  let stack: Stack;
  let state: string;
  const admin = async (path: string): Promise<unknown> => {
    const res = await fetch(`${stack.edge.url}${path}`, { headers: { authorization: `Bearer ${stack.keys.admin}` } });
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), "e2e-sim-models-"));
    const modelsDir = prepareSimModels(state).dir;
    stack = await startStack({
      keys: testKeys("simmodels"),
      agents: 1,
      sim: { stepMs: 5, modelsDir, extraNodes: ["SharpenPlus"] },
      agent: { ...FAST_AGENT, inventoryIntervalMs: 200 },
    });
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(state, { recursive: true, force: true });
  });

  it("tells the agent the sim's models folder; a model file that appears there reaches GET /agents without a restart", async () => {
    const sim = stack.sims[0]!;
    const agent = stack.agents[0]!;
    expect(agent.config.modelsDir).toBe(join(state, "sim-models"));
    expect(sim.dirs.models).toBe(join(state, "sim-models"));
    mkdirSync(join(sim.dirs.models, "loras", "fresh"), { recursive: true });
    writeFileSync(join(sim.dirs.models, "loras", "fresh", "new-style.safetensors"), "weights");
    const loras = async () => {
      const { agents } = (await admin("/agents")) as { agents: AgentRow[] };
      return agents.find((a) => a.agent_id === agent.id)?.inventory.loras ?? [];
    };
    await until(async () => (await loras()).includes("fresh/new-style.safetensors"), 20_000, "the new lora in GET /agents");
    // The default inventory's placeholders serve jobs as before.
    const api = new Api(stack.edge.url, stack.keys.client);
    const { task_id } = await api.submit({ prompt: "placeholder weights", steps: 2, lora: "add_detail.safetensors" });
    expect((await api.waitFor(task_id)).status).toBe("SUCCESS");
  });

  it("the agent's hello carries the rig's node classes, custom ones included, and ComfyUI's version", async () => {
    const agent = stack.agents[0]!;
    const nodes = (await admin(`/agents/${agent.id}/nodes`)) as { classes: string[] | null; comfyui_version: string | null; digest: string | null };
    expect(nodes.classes).toEqual(expect.arrayContaining(["KSampler", "SaveImage", "SharpenPlus"]));
    expect(nodes.comfyui_version).toBe("0.3.64");
    expect(nodes.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { NodeCatalog } from "../../shared/protocol.ts";
import { catalog as manifests, workflowById } from "../catalog.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { call } from "../test/http.ts";
import { defaultRequirements } from "./workflow-readiness.ts";

type Json = Record<string, any>;

const SD15_CLASSES = ["CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "SaveImage", "VAEDecode"];
const SD15_MODELS = { checkpoints: ["v1-5-pruned-emaonly.safetensors"] };
const nodes = (classes: string[]): NodeCatalog => ({ digest: `readiness-${classes.join(",")}`, classes, comfyui_version: "0.3.40" });

const agents: TestAgent[] = [];
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});

async function agent(hello: Parameters<TestAgent["hello"]>[0]): Promise<TestAgent> {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello(hello);
  await a.next("welcome");
  return a;
}

async function ready(): Promise<Record<string, number>> {
  const res = await call("GET", "/workflows");
  expect(res.status).toBe(200);
  const body = (await res.json()) as Json;
  return Object.fromEntries((body.workflows as Json[]).map((w) => [w.id, w.agents_ready]));
}

/** Waits (bounded) until agents of earlier test files have gone, so the counts move only with this test's agents. */
async function settled(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const body = (await (await call("GET", "/agents?pool=default", "admin")).json()) as Json;
    if (!(body.agents as Json[]).some((a) => a.connected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("GET /workflows: agents ready per workflow", () => {
  it("compiles each workflow at its defaults for what it always needs: its models and node classes", () => {
    const sd15 = defaultRequirements(manifests, workflowById("sd15_basic")!);
    expect(sd15.models).toEqual([{ folder: "checkpoints", name: "v1-5-pruned-emaonly.safetensors" }]);
    // lora "None" bypasses the LoraLoader: a rig needs no LoRA node for the defaults.
    expect([...sd15.nodes].sort()).toEqual([...SD15_CLASSES].sort());
    const flux = defaultRequirements(manifests, workflowById("flux_default")!);
    expect(flux.nodes).toContain("UnetLoaderGGUF");
  });

  it("counts the connected agents with the workflow's models and node classes, as they come and go", async () => {
    await settled();
    const base = await ready();
    expect(Object.keys(base)).toEqual(expect.arrayContaining(["sd15_basic", "flux_default", "sd15_img2img"]));

    const full = await agent({ inventory: SD15_MODELS, nodes: nodes(SD15_CLASSES) });
    expect(await ready()).toMatchObject({ sd15_basic: base.sd15_basic! + 1, flux_default: base.flux_default });

    await agent({ inventory: SD15_MODELS, nodes: nodes(SD15_CLASSES.filter((c) => c !== "KSampler")) });
    await agent({ inventory: {}, nodes: nodes(SD15_CLASSES) });
    expect((await ready()).sd15_basic).toBe(base.sd15_basic! + 1);

    // An agent that reported no catalog is taken as having any class.
    await agent({ inventory: SD15_MODELS });
    expect((await ready()).sd15_basic).toBe(base.sd15_basic! + 2);

    // A paused agent (its ComfyUI is down) cannot run anything now.
    await agent({ inventory: SD15_MODELS, nodes: nodes(SD15_CLASSES), pause_reason: "ComfyUI unreachable" });
    expect((await ready()).sd15_basic).toBe(base.sd15_basic! + 2);

    full.close();
    let after = await ready();
    for (let i = 0; i < 50 && after.sd15_basic !== base.sd15_basic! + 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await ready();
    }
    expect(after.sd15_basic).toBe(base.sd15_basic! + 1);
  });

  it("documents agents_ready in the OpenAPI document", async () => {
    const doc = (await (await call("GET", "/openapi.json", "none")).json()) as Json;
    const schema = doc.paths["/workflows"].get.responses["200"].content["application/json"].schema;
    const item = schema.properties.workflows.items;
    expect(item.properties.agents_ready.type).toBe("integer");
    expect(item.properties.agents_ready.description).toContain("node class");
  });
});

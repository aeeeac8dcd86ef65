import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { fluxPrompt, getJson, sd15Prompt, submit } from "./testing.ts";
import type { Graph } from "./validate.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 0 });
});
afterAll(() => sim.close());

const inputs = (p: Graph, id: string): Record<string, unknown> => (p[id] as { inputs: Record<string, unknown> }).inputs;

describe("POST /prompt validation, answered as ComfyUI answers", () => {
  it("accepts the project's Flux workflow and the SD1.5 one", async () => {
    for (const prompt of [fluxPrompt(), sd15Prompt()]) {
      const res = await submit(sim, prompt);
      expect(res.status).toBe(200);
      expect(res.body.node_errors).toEqual({});
    }
  });

  it("refuses an unknown node class with invalid_prompt and no node_errors", async () => {
    const prompt = sd15Prompt();
    prompt["99"] = { class_type: "NoSuchNode", inputs: {} };
    const res = await submit(sim, prompt);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { type: "invalid_prompt", message: "Cannot execute because node NoSuchNode does not exist.", details: "Node ID '#99'", extra_info: {} },
      node_errors: {},
    });
  });

  it("reports a missing required input on the node that lacks it, with its dependent outputs", async () => {
    const prompt = sd15Prompt();
    delete inputs(prompt, "5").width;
    const res = await submit(sim, prompt);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: { type: "prompt_outputs_failed_validation", message: "Prompt outputs failed validation", details: "", extra_info: {} },
      node_errors: {
        "5": {
          errors: [{ type: "required_input_missing", message: "Required input is missing", details: "width", extra_info: { input_name: "width" } }],
          dependent_outputs: ["9"],
          class_type: "EmptyLatentImage",
        },
      },
    });
  });

  it("reports values below min and above max with the input's config", async () => {
    const prompt = sd15Prompt();
    inputs(prompt, "3").steps = 0;
    inputs(prompt, "3").cfg = 200;
    const res = await submit(sim, prompt);
    expect(res.status).toBe(400);
    const errors = (res.body.node_errors as Record<string, { errors: unknown[] }>)["3"]?.errors;
    expect(errors).toEqual([
      {
        type: "value_smaller_than_min", message: "Value 0 smaller than min of 1", details: "steps",
        extra_info: { input_name: "steps", input_config: ["INT", { default: 20, min: 1, max: 10000 }], received_value: 0 },
      },
      {
        type: "value_bigger_than_max", message: "Value 200.0 bigger than max of 100.0", details: "cfg",
        extra_info: { input_name: "cfg", input_config: ["FLOAT", { default: 8, min: 0, max: 100, step: 0.1, round: 0.01 }], received_value: 200 },
      },
    ]);
  });

  it("refuses a model name the rig does not have with value_not_in_list", async () => {
    const prompt = sd15Prompt();
    inputs(prompt, "4").ckpt_name = "missing.safetensors";
    const res = await submit(sim, prompt);
    expect(res.status).toBe(400);
    expect((res.body.node_errors as Record<string, unknown>)["4"]).toEqual({
      errors: [{
        type: "value_not_in_list", message: "Value not in list",
        details: "ckpt_name: 'missing.safetensors' not in ['v1-5-pruned-emaonly.safetensors']",
        extra_info: { input_name: "ckpt_name", input_config: [["v1-5-pruned-emaonly.safetensors"], { tooltip: expect.any(String) }], received_value: "missing.safetensors" },
      }],
      dependent_outputs: ["9"],
      class_type: "CheckpointLoaderSimple",
    });
  });

  it("answers prompt_no_outputs without an output node, and no_prompt without a prompt", async () => {
    const prompt = sd15Prompt();
    delete prompt["9"];
    expect(await submit(sim, prompt)).toEqual({
      status: 400,
      body: { error: { type: "prompt_no_outputs", message: "Prompt has no outputs", details: "", extra_info: {} }, node_errors: {} },
    });
    const res = await fetch(`${sim.url}/prompt`, { method: "POST", body: JSON.stringify({ client_id: "x" }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { type: "no_prompt", message: "No prompt provided", details: "No prompt provided", extra_info: {} },
      node_errors: {},
    });
  });

  it("reports a link to a missing node as exception_during_inner_validation", async () => {
    const prompt = sd15Prompt();
    inputs(prompt, "3").model = ["99", 0];
    const res = await submit(sim, prompt);
    expect(res.status).toBe(400);
    expect((res.body.error as { type: string }).type).toBe("prompt_outputs_failed_validation");
    expect((res.body.node_errors as Record<string, unknown>)["3"]).toEqual({
      errors: [{
        type: "exception_during_inner_validation", message: "Exception when validating inner node", details: "'99'",
        extra_info: expect.objectContaining({ input_name: "samples", exception_type: "KeyError", exception_message: "'99'", linked_node: ["3", 0] }),
      }],
      dependent_outputs: ["9"],
      class_type: "KSampler",
    });
  });

  it("reports a link of the wrong type as return_type_mismatch", async () => {
    const prompt = sd15Prompt();
    inputs(prompt, "6").clip = ["4", 0];
    const res = await submit(sim, prompt);
    const errors = (res.body.node_errors as Record<string, { errors: { type: string; details: string }[] }>)["6"]?.errors;
    expect(errors?.[0]).toMatchObject({ type: "return_type_mismatch", details: "clip, received_type(MODEL) mismatch input_type(CLIP)" });
  });

  it("runs the valid outputs and reports the others when only some outputs fail", async () => {
    const prompt = sd15Prompt();
    prompt["20"] = { class_type: "SaveImage", inputs: { images: ["8", 0] } };
    const res = await submit(sim, prompt);
    expect(res.status).toBe(200);
    expect(res.body.node_errors).toEqual({
      "20": {
        errors: [{ type: "required_input_missing", message: "Required input is missing", details: "filename_prefix", extra_info: { input_name: "filename_prefix" } }],
        dependent_outputs: ["20"],
        class_type: "SaveImage",
      },
    });
  });

  it("refuses a cross-origin request to its loopback address with 403, as ComfyUI's middleware does", async () => {
    const res = await fetch(`${sim.url}/prompt`, { method: "POST", headers: { Origin: "http://evil.example" }, body: "{}" });
    expect(res.status).toBe(403);
    const same = await fetch(`${sim.url}/prompt`, { headers: { Origin: sim.url } });
    expect(same.status).toBe(200);
  });

  it("answers a malformed JSON body with a plain-text 500, as aiohttp does", async () => {
    const res = await fetch(`${sim.url}/prompt`, { method: "POST", body: "{not json" });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("500 Internal Server Error\n\nServer got itself in trouble");
  });

  it("converts values to their declared types, as ComfyUI does before queueing", async () => {
    const prompt = sd15Prompt();
    inputs(prompt, "5").width = "256";
    const res = await submit(sim, prompt);
    expect(res.status).toBe(200);
    const id = res.body.prompt_id as string;
    let entry: { prompt: unknown[] } | undefined;
    for (let i = 0; i < 100 && !entry; i++) {
      entry = (await getJson(sim, `/history/${id}`))[id] as typeof entry;
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    expect(inputs(entry?.prompt[2] as Graph, "5").width).toBe(256);
  });
});

describe("/object_info", () => {
  it("describes every class with its inputs and the rig's model lists", async () => {
    const info = await getJson(sim, "/object_info");
    expect(Object.keys(info)).toEqual(expect.arrayContaining(["KSampler", "ParamInt", "UnetLoaderGGUF", "easy loraStack", "SaveImageWebsocket"]));
    expect(info.UnetLoaderGGUF).toMatchObject({
      input: { required: { unet_name: [["flux1-dev-Q4_K_S.gguf", "flux1-schnell-Q4_K_S.gguf"]] } },
      output: ["MODEL"], output_node: false, name: "UnetLoaderGGUF", display_name: "Unet Loader (GGUF)",
    });
    expect(await getJson(sim, `/object_info/${encodeURIComponent("easy loraStack")}`)).toHaveProperty(["easy loraStack", "input", "optional", "lora_1_name"]);
    expect(await getJson(sim, "/object_info/Nope")).toEqual({});
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { fluxPrompt, getJson, postJson, sd15Prompt, submit, TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 10 });
});
afterEach(() => sim.setFaults({ errorRate: 0, hangRate: 0, slowRate: 0, crashRate: 0 }));
afterAll(() => sim.close());

const inputs = (p: Graph, id: string): Record<string, unknown> => (p[id] as { inputs: Record<string, unknown> }).inputs;

/** An SD1.5 prompt with many steps, so it is still sampling when the test acts. */
function longPrompt(seed: number, steps = 500): Graph {
  const p = sd15Prompt();
  inputs(p, "3").seed = seed;
  inputs(p, "3").steps = steps;
  return p;
}

describe("execution_error", () => {
  it("carries ComfyUI's fields, then status, then executing {node: null}", async () => {
    const client = await TestClient.connect(sim);
    const prompt = fluxPrompt();
    inputs(prompt, "73").value = "nope.gguf"; // passes validation (a link), fails in the loader
    const id = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
    await client.finished(id);
    const error = await client.next("execution_error", (d) => d.prompt_id === id);
    expect(error.data).toEqual({
      prompt_id: id,
      node_id: "40",
      node_type: "UnetLoaderGGUF",
      executed: expect.any(Array),
      exception_message: "Model in folder 'unet' with filename 'nope.gguf' not found.\n",
      exception_type: "FileNotFoundError",
      traceback: expect.arrayContaining([expect.stringContaining("execution.py")]),
      current_inputs: { unet_name: ["nope.gguf"] },
      current_outputs: Object.keys(prompt),
      timestamp: expect.any(Number),
    });
    expect(error.data.executed).toContain("73");
    expect(client.trace(id).slice(-3)).toEqual(["execution_error", "status", "executing:null"]);
    const entry = (await getJson(sim, `/history/${id}`))[id] as { outputs: unknown; status: { status_str: string; completed: boolean; messages: [string][] } };
    expect(entry.outputs).toEqual({});
    expect(entry.status.status_str).toBe("error");
    expect(entry.status.completed).toBe(false);
    expect(entry.status.messages.map((m) => m[0])).toEqual(["execution_start", "execution_cached", "execution_error"]);
    client.close();
  });

  it("injects realistic runtime errors with the error fault", async () => {
    const client = await TestClient.connect(sim);
    sim.setFaults({ errorRate: 1, seed: 7 });
    const id = (await submit(sim, longPrompt(11, 3), client.clientId)).body.prompt_id as string;
    await client.finished(id);
    const error = await client.next("execution_error", (d) => d.prompt_id === id);
    expect(error.data.exception_type).toMatch(/^(torch\.OutOfMemoryError|safetensors_rust\.SafetensorError|RuntimeError|OSError)$/);
    expect(error.data.exception_message).toMatch(/\n/);
    expect(sim.stats().failed).toBeGreaterThanOrEqual(1);
    client.close();
  });
});

describe("interrupt", () => {
  it("stops the running prompt named by prompt_id at the next step", async () => {
    const client = await TestClient.connect(sim);
    const id = (await submit(sim, longPrompt(21), client.clientId)).body.prompt_id as string;
    await client.next("progress", (d) => d.prompt_id === id);
    expect((await postJson(sim, "/interrupt", { prompt_id: id })).status).toBe(200);
    await client.finished(id);
    const stopped = await client.next("execution_interrupted", (d) => d.prompt_id === id);
    expect(stopped.data).toEqual({ prompt_id: id, node_id: "3", node_type: "KSampler", executed: expect.any(Array), timestamp: expect.any(Number) });
    expect(client.trace(id).slice(-3)).toEqual(["execution_interrupted", "status", "executing:null"]);
    const entry = (await getJson(sim, `/history/${id}`))[id] as { status: { status_str: string; completed: boolean } };
    expect(entry.status).toMatchObject({ status_str: "error", completed: false });
    client.close();
  });

  it("ignores a prompt_id that is not running; {} interrupts whatever runs; /queue delete drops a pending one", async () => {
    const client = await TestClient.connect(sim);
    const running = (await submit(sim, longPrompt(31), client.clientId)).body.prompt_id as string;
    const pending = (await submit(sim, longPrompt(32), client.clientId)).body.prompt_id as string;
    await client.next("progress", (d) => d.prompt_id === running);

    await postJson(sim, "/interrupt", { prompt_id: pending });
    const queue = (await getJson(sim, "/queue")) as { queue_running: unknown[][]; queue_pending: unknown[][] };
    expect(queue.queue_running.map((q) => q[1])).toEqual([running]);
    expect(queue.queue_pending.map((q) => q[1])).toEqual([pending]);
    const seen = client.messages.filter((m) => m.type === "progress" && m.data.prompt_id === running).length;
    await client.until(() => client.messages.filter((m) => m.type === "progress" && m.data.prompt_id === running).length > seen + 2);

    const del = await postJson(sim, "/queue", { delete: [pending] });
    expect(del.status).toBe(200);
    expect(await del.text()).toBe("");
    expect(((await getJson(sim, "/queue")) as { queue_pending: unknown[] }).queue_pending).toEqual([]);

    await fetch(`${sim.url}/interrupt`, { method: "POST" });
    await client.finished(running);
    expect(client.messages.some((m) => m.type === "execution_interrupted" && m.data.prompt_id === running)).toBe(true);
    expect(await getJson(sim, `/history/${pending}`)).toEqual({});
    expect(client.messages.some((m) => m.type === "execution_start" && m.data.prompt_id === pending)).toBe(false);
    expect(sim.stats().interruptsReceived).toBeGreaterThanOrEqual(2);
    client.close();
  });

  it("frees a hung sampler", async () => {
    const client = await TestClient.connect(sim);
    sim.setFaults({ hangRate: 1, seed: 3 });
    const id = (await submit(sim, longPrompt(41, 4), client.clientId)).body.prompt_id as string;
    await client.next("executing", (d) => d.prompt_id === id && d.node === "3");
    await postJson(sim, "/interrupt", { prompt_id: id });
    await client.finished(id);
    expect(client.messages.some((m) => m.type === "execution_interrupted" && m.data.prompt_id === id)).toBe(true);
    client.close();
  });
});

describe("queue", () => {
  it("orders pending prompts by number: front goes first, clear empties", async () => {
    const client = await TestClient.connect(sim);
    const blocker = (await submit(sim, longPrompt(51), client.clientId)).body.prompt_id as string;
    await client.next("execution_start", (d) => d.prompt_id === blocker);
    const back = (await submit(sim, longPrompt(52), client.clientId)).body;
    const front = (await submit(sim, longPrompt(53), client.clientId, { front: true })).body;
    expect(front.number).toBe(-(back.number as number) - 1);
    const queue = (await getJson(sim, "/queue")) as { queue_pending: unknown[][] };
    expect(queue.queue_pending.map((q) => q[1])).toEqual([front.prompt_id, back.prompt_id]);
    expect(queue.queue_pending[0]?.slice(3)).toEqual([{ client_id: client.clientId, create_time: expect.any(Number) }, ["9"]]);
    expect(await getJson(sim, "/prompt")).toEqual({ exec_info: { queue_remaining: 3 } });

    await postJson(sim, "/queue", { clear: true });
    expect(((await getJson(sim, "/queue")) as { queue_pending: unknown[] }).queue_pending).toEqual([]);
    await postJson(sim, "/interrupt", {});
    await client.finished(blocker);
    client.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { fluxPrompt, getJson, sd15Prompt, submit, TestClient } from "./testing.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 1 });
});
afterAll(() => sim.close());

describe("a normal run", () => {
  it("sends ComfyUI's messages in ComfyUI's order, executing {node: null} last", async () => {
    const client = await TestClient.connect(sim);
    const res = await submit(sim, fluxPrompt(), client.clientId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ prompt_id: expect.any(String), number: expect.any(Number), node_errors: {} });
    const id = res.body.prompt_id as string;
    await client.finished(id);

    const trace = client.trace(id).slice(1); // after the connect status
    expect(trace.slice(0, 4)).toEqual(["status", "status", "execution_start", "execution_cached"]);
    expect(trace.slice(-3)).toEqual(["execution_success", "status", "executing:null"]);
    const last = client.messages.filter((m) => m.data.prompt_id === id).at(-1);
    expect(last).toEqual({ type: "executing", data: { node: null, prompt_id: id } });
    // Each node: progress_state, executing, (executed,) progress_state.
    for (const [i, step] of trace.entries()) {
      if (step.startsWith("executing:") && step !== "executing:null") expect(trace[i - 1]).toBe("progress_state");
    }
    const executing = trace.filter((t) => t.startsWith("executing:") && t !== "executing:null");
    expect(executing).toContain("executing:13");
    expect(executing).not.toContain("executing:39"); // unreachable from the output: never runs
    expect(executing.indexOf("executing:13")).toBeLessThan(executing.indexOf("executing:76"));

    const progress = client.messages.filter((m) => m.type === "progress" && m.data.prompt_id === id);
    expect(progress.map((m) => m.data)).toEqual([1, 2, 3, 4].map((value) => ({ value, max: 4, prompt_id: id, node: "13" })));
    // (An identical twin node, like the two ParamInt 1024s, hits the cache mid-run and gets an
    // `executed` with output null, as in ComfyUI; the output node is the one that matters.)
    const executed = await client.next("executed", (d) => d.prompt_id === id && d.node === "76");
    expect(executed.data).toEqual({
      node: "76", display_node: "76", prompt_id: id,
      output: { images: [{ filename: expect.stringMatching(/^ComfyUI_\d{5}_\.png$/), subfolder: "", type: "output" }] },
    });
    const start = await client.next("execution_start", (d) => d.prompt_id === id);
    expect(start.data).toEqual({ prompt_id: id, timestamp: expect.any(Number) });
    const state = client.messages.find((m) => m.type === "progress_state" && m.data.prompt_id === id);
    expect(state?.data.nodes).toMatchObject({ [String(executing[0]?.slice(10))]: { state: "running", value: 0, max: 1, parent_node_id: null } });
    client.close();
  });

  it("sends a binary PNG preview frame per sampler step", async () => {
    const client = await TestClient.connect(sim);
    const prompt = sd15Prompt();
    (prompt["3"] as { inputs: Record<string, unknown> }).inputs.seed = 1234;
    const id = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
    await client.finished(id);
    expect(client.binaries.length).toBe(3);
    for (const frame of client.binaries) {
      expect(frame.readUInt32BE(0)).toBe(1);
      expect(frame.readUInt32BE(4)).toBe(2);
      expect(frame.subarray(8, 12)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    }
    client.close();
  });

  it("sends no preview frames with previewMethod none (ComfyUI's default), the same text messages otherwise", async () => {
    const quiet = await startSim({ port: 0, stepMs: 1, previewMethod: "none" });
    try {
      const client = await TestClient.connect(quiet);
      const id = (await submit(quiet, sd15Prompt(), client.clientId)).body.prompt_id as string;
      await client.finished(id);
      expect(client.binaries).toEqual([]);
      const steps = client.messages.filter((m) => m.type === "progress" && m.data.prompt_id === id && m.data.node === "3");
      expect(steps.map((m) => m.data.value)).toEqual([1, 2, 3]);
      client.close();
    } finally {
      await quiet.close();
    }
  });

  it("writes history after the run: {} before, ComfyUI's shape after", async () => {
    const slow = await startSim({ port: 0, stepMs: 30 });
    try {
      const client = await TestClient.connect(slow);
      const id = (await submit(slow, sd15Prompt(), client.clientId)).body.prompt_id as string;
      expect(await getJson(slow, `/history/${id}`)).toEqual({});
      expect(await getJson(slow, "/history/no-such-prompt")).toEqual({});
      await client.finished(id);
      const entry = (await getJson(slow, `/history/${id}`))[id] as Record<string, unknown>;
      expect(entry.prompt).toEqual([0, id, expect.any(Object), { client_id: client.clientId, create_time: expect.any(Number) }, ["9"]]);
      expect(entry.outputs).toEqual({ "9": { images: [{ filename: "ComfyUI_00001_.png", subfolder: "", type: "output" }] } });
      expect(entry.meta).toEqual({ "9": { node_id: "9", display_node: "9", parent_node: null, real_node_id: "9" } });
      const status = entry.status as { status_str: string; completed: boolean; messages: [string, unknown][] };
      expect(status.status_str).toBe("success");
      expect(status.completed).toBe(true);
      expect(status.messages.map((m) => m[0])).toEqual(["execution_start", "execution_cached", "execution_success"]);
      expect(Object.keys(await getJson(slow, "/history"))).toEqual([id]);
      client.close();
    } finally {
      await slow.close();
    }
  });
});

describe("caching", () => {
  it("a fully cached rerun sends no per-node executing but still executed for the output node", async () => {
    const client = await TestClient.connect(sim);
    const prompt = sd15Prompt();
    (prompt["3"] as { inputs: Record<string, unknown> }).inputs.seed = 777;
    const first = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
    await client.finished(first);
    const firstOut = (await client.next("executed", (d) => d.prompt_id === first)).data.output;

    const again = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
    await client.finished(again);
    const cached = await client.next("execution_cached", (d) => d.prompt_id === again);
    expect([...(cached.data.nodes as string[])].sort()).toEqual(["3", "4", "5", "6", "7", "8", "9"]);
    expect(client.trace(again).filter((t) => t.startsWith("executing:") && t !== "executing:null")).toEqual([]);
    expect(client.trace(again).slice(-5)).toEqual(["executed:9", "progress_state", "execution_success", "status", "executing:null"]);
    expect((await client.next("executed", (d) => d.prompt_id === again)).data.output).toEqual(firstOut);
    expect(client.messages.some((m) => m.type === "progress" && m.data.prompt_id === again)).toBe(false);

    // A new seed re-runs the sampler and what follows it; the loaders stay cached.
    (prompt["3"] as { inputs: Record<string, unknown> }).inputs.seed = 778;
    const third = (await submit(sim, prompt, client.clientId)).body.prompt_id as string;
    await client.finished(third);
    const partial = await client.next("execution_cached", (d) => d.prompt_id === third);
    expect([...(partial.data.nodes as string[])].sort()).toEqual(["4", "5", "6", "7"]);
    expect(client.trace(third).filter((t) => t.startsWith("executing:") && t !== "executing:null")).toEqual([
      "executing:3", "executing:8", "executing:9",
    ]);
    client.close();
  });
});

describe("sockets", () => {
  it("sends sid only in the first status message", async () => {
    const client = await TestClient.connect(sim, "sid-check");
    const id = (await submit(sim, sd15Prompt(), client.clientId)).body.prompt_id as string;
    await client.finished(id);
    const statuses = client.messages.filter((m) => m.type === "status");
    expect(statuses[0]?.data).toEqual({ status: { exec_info: { queue_remaining: expect.any(Number) } }, sid: "sid-check" });
    expect(client.messages[0]?.type).toBe("status");
    expect(statuses.length).toBeGreaterThan(1);
    for (const s of statuses.slice(1)) expect(s.data).not.toHaveProperty("sid");
    client.close();
  });

  it("sends a prompt's messages only to its client, and status to everyone", async () => {
    const owner = await TestClient.connect(sim);
    const other = await TestClient.connect(sim);
    const prompt = sd15Prompt();
    (prompt["3"] as { inputs: Record<string, unknown> }).inputs.seed = 4242;
    const id = (await submit(sim, prompt, owner.clientId)).body.prompt_id as string;
    await owner.finished(id);
    await other.until(() => other.messages.filter((m) => m.type === "status").length >= 4);
    const private_ = ["execution_start", "execution_cached", "executing", "executed", "progress", "execution_success"];
    expect(other.messages.filter((m) => private_.includes(m.type) && m.data.prompt_id === id)).toEqual([]);
    expect(other.binaries).toEqual([]);
    owner.close();
    other.close();
  });

  it("also sends message types a client may not know", async () => {
    const client = await TestClient.connect(sim);
    const monitor = await client.next("crystools.monitor", () => true, 5000);
    expect(monitor.data).toHaveProperty("gpus");
    client.close();
  });
});

describe("/api prefix", () => {
  it("serves every route under /api/ too, the WebSocket included", async () => {
    const client = await TestClient.connect(sim, undefined, "/api/ws");
    const res = await fetch(`${sim.url}/api/prompt`, {
      method: "POST",
      body: JSON.stringify({ prompt: sd15Prompt(), client_id: client.clientId }),
    });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { prompt_id: string }).prompt_id;
    await client.finished(id);
    expect(Object.keys(await getJson(sim, `/api/history/${id}`))).toEqual([id]);
    expect(await getJson(sim, "/api/object_info/KSampler")).toHaveProperty("KSampler.input.required.steps");
    expect(await getJson(sim, "/api/prompt")).toEqual({ exec_info: { queue_remaining: 0 } });
    expect((await fetch(`${sim.url}/api/nope`)).status).toBe(404);
    client.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { getJson, postJson, sd15Prompt, submit, TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim({ port: 0, stepMs: 5, faults: { crashDownMs: 500 } });
});
afterAll(() => sim.close());

const inputs = (p: Graph, id: string): Record<string, unknown> => (p[id] as { inputs: Record<string, unknown> }).inputs;
function prompt(seed: number, steps: number): Graph {
  const p = sd15Prompt();
  Object.assign(inputs(p, "3"), { seed, steps });
  return p;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch (e) {
    return (e as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
  }
}

describe("crash", () => {
  it("drops sockets without a close frame, refuses connections, forgets queue and history, then listens on the same port", async () => {
    const client = await TestClient.connect(sim);
    const done = (await submit(sim, prompt(1, 1), client.clientId)).body.prompt_id as string;
    await client.finished(done);
    const running = (await submit(sim, prompt(2, 10_000), client.clientId)).body.prompt_id as string;
    await submit(sim, prompt(3, 1), client.clientId);
    await client.next("progress", (d) => d.prompt_id === running);

    const restarted = sim.crash();
    await client.until(() => client.closeCode !== null);
    expect(client.closeCode).toBe(1006);
    expect(await refused(`${sim.url}/prompt`)).toBe(true);
    await restarted;

    expect(await getJson(sim, `/history/${done}`)).toEqual({});
    expect(await getJson(sim, "/queue")).toEqual({ queue_running: [], queue_pending: [] });
    const fresh = await TestClient.connect(sim);
    const after = await submit(sim, prompt(4, 1), fresh.clientId);
    expect(after.body.number).toBe(0); // the prompt counter lived in memory too
    await fresh.finished(after.body.prompt_id as string);
    const out = await fresh.next("executed", (d) => d.prompt_id === after.body.prompt_id);
    // Output files outlive the process, so the name counter goes on.
    expect(out.data.output).toEqual({ images: [{ filename: "ComfyUI_00002_.png", subfolder: "", type: "output" }] });
    expect(sim.stats().crashed).toBeGreaterThanOrEqual(1);
    fresh.close();
  });

  it("happens mid-run with the crash fault, and POST /__sim/crash answers before it dies", async () => {
    const client = await TestClient.connect(sim);
    sim.setFaults({ crashRate: 1, seed: 5, crashDownMs: 50 });
    const id = (await submit(sim, prompt(10, 20), client.clientId)).body.prompt_id as string;
    await client.until(() => client.closeCode !== null);
    expect(client.messages.some((m) => m.type === "execution_start" && m.data.prompt_id === id)).toBe(true);
    expect(client.messages.some((m) => m.type === "execution_success" || m.type === "execution_error")).toBe(false);
    sim.setFaults({ crashRate: 0 });

    let back: TestClient | undefined;
    for (let i = 0; i < 100 && !back; i++) {
      back = await TestClient.connect(sim).catch(() => undefined);
      if (!back) await new Promise((r) => setTimeout(r, 20));
    }
    const res = await fetch(`${sim.url}/__sim/crash`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ crashing: true });
    await back?.until(() => back.closeCode !== null);
    expect(back?.closeCode).toBe(1006);
    sim.setFaults({ crashDownMs: 500 });
    await sim.crash(); // joins the restart under way
  });
});

describe("reconnect", () => {
  it("replays the running node to a socket that comes back with the same clientId", async () => {
    const client = await TestClient.connect(sim, "comes-back");
    const id = (await submit(sim, prompt(20, 10_000), client.clientId)).body.prompt_id as string;
    await client.next("progress", (d) => d.prompt_id === id);
    client.close();
    await client.until(() => client.closeCode !== null);
    const again = await TestClient.connect(sim, "comes-back");
    await again.until(() => again.messages.length >= 2);
    expect(again.messages[0]?.data).toHaveProperty("sid", "comes-back");
    expect(again.messages[1]).toEqual({ type: "executing", data: { node: "3" } });
    await postJson(sim, "/interrupt", { prompt_id: id });
    await again.finished(id);
    again.close();
  });
});

describe("harness routes", () => {
  it("serve stats and take faults, refusing a bad body with a clear error", async () => {
    const stats = await getJson(sim, "/__sim/stats");
    expect(stats).toMatchObject({ promptsReceived: expect.any(Number), executions: expect.any(Array), requests: expect.any(Array) });
    const bad = await postJson(sim, "/__sim/faults", { errorRate: 2 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: "invalid_body", message: expect.stringContaining("errorRate") } });
    const ok = await postJson(sim, "/__sim/faults", { slowRate: 0.5, seed: 1 });
    expect(await ok.json()).toMatchObject({ faults: { slowRate: 0.5, seed: 1 } });
    await postJson(sim, "/__sim/faults", { slowRate: 0 });
    expect((await fetch(`${sim.url}/api/__sim/stats`)).status).toBe(404);
  });
});

import { afterEach, describe, expect, test } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { getJson, queueAsOtherClient, sd15Prompt, submit } from "./testing.ts";

const graph = sd15Prompt();

const sims: Sim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(ignorePromptIds: boolean, hang = false): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 0, ignorePromptIds, ...(hang ? { faults: { hangRate: 1 } } : {}) });
  sims.push(s);
  return s;
}

describe("client-chosen prompt ids", () => {
  test("are honoured, as ComfyUI 0.3.64 does", async () => {
    const s = await sim(false);
    const res = await submit(s, graph, "c1", { prompt_id: "chosen-by-client" });
    expect(res.body.prompt_id).toBe("chosen-by-client");
  });

  test("with ignorePromptIds, are replaced by a uuid of the sim's own, which history then uses", async () => {
    const s = await sim(true);
    const res = await submit(s, graph, "c1", { prompt_id: "chosen-by-client" });
    const id = res.body.prompt_id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await expect.poll(async () => Object.keys(await getJson(s, `/history/${id}`))).toEqual([id]);
    expect(await getJson(s, "/history/chosen-by-client")).toEqual({});
  });
});

describe("prompts queued by other clients", () => {
  test("sit in /queue with their client_id and extra_data, as anyone's would", async () => {
    // Every sampler stalls until interrupted: the first runs, the second waits.
    const s = await sim(false, true);
    const ids = [await queueAsOtherClient(s, graph, { clientId: "web-page" }), await queueAsOtherClient(s, graph, { extra_data: { note: "x" } })];
    const q = (await getJson(s, "/queue")) as { queue_running: unknown[][]; queue_pending: unknown[][] };
    const entries = [...q.queue_running, ...q.queue_pending].filter((e) => ids.includes(e[1] as string));
    const extras = entries.map((e) => e[3] as Record<string, unknown>);
    expect(extras.some((x) => x.client_id === "web-page")).toBe(true);
    expect(extras.some((x) => x.note === "x" && String(x.client_id).startsWith("someone-else-"))).toBe(true);
  });
});

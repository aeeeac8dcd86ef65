import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { TERMINAL } from "../e2e/helpers.ts";
import { startSim, type Sim } from "../sim/server.ts";
import { getJson, queueAsOtherClient } from "../sim/testing.ts";
import { ComfyClient } from "./comfy/client.ts";
import { ComfyEventHub } from "./comfy/event-hub.ts";
import { promptTag } from "./comfy/ownership.ts";
import { PromptRun } from "./comfy/run.ts";
import { startAgent } from "./main.ts";
import { txt2img } from "./testing/graphs.ts";
import { startEdgeUnderTest, startTestAgent, TEST_TUNING, type EdgeUnderTest } from "./testing/real-edge.ts";
import { until } from "./testing/until.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function sim(opts: Parameters<typeof startSim>[0] = {}): Promise<Sim> {
  const s = await startSim({ port: 0, stepMs: 20, ...opts });
  cleanups.push(() => s.close());
  return s;
}

type QueueTuple = [number, string, unknown, Record<string, unknown>, unknown];
async function queued(s: Sim): Promise<{ running: string[]; pending: string[] }> {
  const q = (await getJson(s, "/queue")) as { queue_running: QueueTuple[]; queue_pending: QueueTuple[] };
  return { running: q.queue_running.map((t) => t[1]), pending: q.queue_pending.map((t) => t[1]) };
}

/** An agent that only starts (its edge is unreachable): enough to see what it does to ComfyUI at start. */
async function startAgainst(s: Sim, agentId: string): Promise<void> {
  const agent = await startAgent(
    { edgeUrl: "http://127.0.0.1:9", token: "t", comfyUrl: s.url, agentId, tuning: TEST_TUNING },
    { logger: pino({ level: "silent" }) },
  );
  cleanups.push(async () => agent.kill());
}

describe("an agent on a shared ComfyUI reclaims only its own prompts", () => {
  test("others' running and pending prompts survive an agent start; its predecessor's pending prompt is deleted", async () => {
    const s = await sim();
    const theirsRunning = await queueAsOtherClient(s, txt2img({ steps: 2000 }));
    const mine = await queueAsOtherClient(s, txt2img({ steps: 5, seed: 1 }), { extra_data: promptTag("agt_shared", { job_id: "j1", lease_id: "l1" }) });
    const theirsPending = await queueAsOtherClient(s, txt2img({ steps: 5, seed: 2 }));
    const anotherAgents = await queueAsOtherClient(s, txt2img({ steps: 5, seed: 3 }), { extra_data: promptTag("agt_other", { job_id: "j2", lease_id: "l2" }) });
    await until("the first prompt running", async () => (await queued(s)).running.includes(theirsRunning));

    await startAgainst(s, "agt_shared");

    const q = await queued(s);
    expect(q.running).toEqual([theirsRunning]);
    expect(q.pending).toEqual([theirsPending, anotherAgents]);
    expect(q.pending).not.toContain(mine);
    expect(s.stats().interruptsReceived).toBe(0);
  });

  test("its predecessor's running prompt is interrupted by id; the next prompt (someone else's) then runs", async () => {
    const s = await sim();
    const mine = await queueAsOtherClient(s, txt2img({ steps: 2000 }), { extra_data: promptTag("agt_shared", { job_id: "j1", lease_id: "l1" }) });
    const theirs = await queueAsOtherClient(s, txt2img({ steps: 2000, seed: 9 }));
    await until("the predecessor's prompt running", async () => (await queued(s)).running.includes(mine));

    await startAgainst(s, "agt_shared");

    await until("someone else's prompt running", async () => (await queued(s)).running.includes(theirs));
    const history = (await getJson(s, `/history/${mine}`)) as Record<string, { status: { messages: [string, unknown][] } }>;
    expect(history[mine]?.status.messages.map(([type]) => type)).toContain("execution_interrupted");
  });
});

describe("the prompt id ComfyUI answers with wins", () => {
  test("a run follows the id a ComfyUI that ignores client-chosen ids assigned, on the shared socket", async () => {
    const s = await sim({ ignorePromptIds: true, stepMs: 1 });
    const comfy = new ComfyClient(s.url);
    const events = new ComfyEventHub(comfy);
    cleanups.push(async () => {
      events.close();
      comfy.close();
    });
    const run = new PromptRun(comfy, { graph: txt2img({ steps: 3 }), promptId: "asked-for-this-id", events, pollMs: 25, timeoutMs: 20_000 });
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.promptId).not.toBe("asked-for-this-id");
    expect(run.promptId).toBe(outcome.promptId);
    expect(Object.keys(await getJson(s, `/history/${outcome.promptId}`))).toEqual([outcome.promptId]);
  });

  test("on its own socket too (no shared hub)", async () => {
    const s = await sim({ ignorePromptIds: true, stepMs: 1 });
    const comfy = new ComfyClient(s.url);
    cleanups.push(async () => comfy.close());
    const outcome = await new PromptRun(comfy, { graph: txt2img({ steps: 3 }), promptId: "asked-for-this-id", pollMs: 25, timeoutMs: 20_000 }).outcome;
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.promptId).not.toBe("asked-for-this-id");
  });

  describe("through the real edge", () => {
    let edge: EdgeUnderTest;
    beforeAll(async () => {
      edge = await startEdgeUnderTest();
    });
    afterAll(async () => edge?.close());

    test("a job runs to SUCCESS on a ComfyUI that assigns its own prompt ids", async () => {
      const s = await sim({ ignorePromptIds: true, stepMs: 1 });
      const agent = await startTestAgent({ edgeUrl: edge.edge.url, token: edge.keys.agent, comfyUrl: s.url });
      cleanups.push(async () => agent.kill());
      const id = await edge.submit();
      const done = await edge.waitFor(id, (t) => TERMINAL.includes(t.status), "finished");
      expect(done).toMatchObject({ status: "SUCCESS", attempts: 1 });
      await edge.cancelSubmitted();
    });
  });
});

import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NodeCatalog } from "../../shared/protocol.ts";
import { newTaskId } from "../ids.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import { drainDefaultPool, task } from "../test/queue-driver.ts";
import type { JobQueue } from "./JobQueue.ts";
import { queueFor } from "./stub.ts";
import type { NewJob } from "./types.ts";
import { failHopelessJobs } from "./waiting.ts";
import { withOwnDigest } from "./node-catalogs.ts";

type Json = Record<string, any>;

/** A model only this file's agents hold, so jobs other files left queued never reach them. */
const MODEL = { folder: "checkpoints", name: "node-routing-test.safetensors" };
const INVENTORY = { checkpoints: [MODEL.name] };
const CORE = ["CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler", "SaveImage", "VAEDecode"];
const SD15 = { checkpoints: ["v1-5-pruned-emaonly.safetensors"] };

const catalog = (classes: string[], digest = `d-${classes.slice().sort().join(",")}`): NodeCatalog => ({ digest, classes, comfyui_version: "0.3.40" });

const agents: TestAgent[] = [];
/** Every task this file made: cancelled after each test so no later file finds them queued or leased. */
const made: string[] = [];
afterEach(async () => {
  while (agents.length) agents.pop()!.close();
  while (made.length) await (await call("DELETE", `/tasks/${made.pop()!}`, "admin")).body?.cancel();
});
beforeAll(() => drainDefaultPool());

async function agent(hello: Parameters<TestAgent["hello"]>[0], id?: string): Promise<TestAgent> {
  const a = await TestAgent.connect(id ? { id } : {});
  agents.push(a);
  a.hello(hello);
  await a.next("welcome");
  return a;
}

/** A job as a raw graph or a compiled workflow hands it to the queue, naming its node classes. */
function job(nodes: string[], extra: Partial<NewJob> = {}): NewJob {
  const graph = Object.fromEntries(nodes.map((cls, i) => [String(i + 1), { class_type: cls, inputs: {} }]));
  return {
    id: newTaskId("default"), owner: "alice", workflow_id: "sd15_basic", pool: "default", priority: 50,
    params_json: "{}", graph_json: JSON.stringify(graph), models: [MODEL], nodes, inputs: [], seed: 1,
    output_format: "png", quality: 90, timeout_s: 60, idem_key: null, idem_hash: null, webhook_url: null, ...extra,
  };
}

async function enqueue(j: NewJob) {
  const r = await runInDurableObject(queueFor(env, "default"), (q: JobQueue) => q.enqueue(j));
  if (r.ok) made.push(r.value.task_id);
  return r;
}

async function submitted(...args: Parameters<typeof submit>) {
  const r = await submit(...args);
  if (r.res.status === 202) made.push(r.body.task_id as string);
  return r;
}

async function listed(id: string): Promise<Json | undefined> {
  const body = (await (await call("GET", "/agents?pool=default", "admin")).json()) as Json;
  return (body.agents as Json[]).find((a) => a.agent_id === id);
}

/** Waits (bounded) until no agent of earlier tests is still connected: one without a catalog would count as having any class. */
async function othersGone(mine: string[] = []): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const body = (await (await call("GET", "/agents?pool=default", "admin")).json()) as Json;
    if (!(body.agents as Json[]).some((a) => a.connected && !mine.includes(a.agent_id))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("node-aware routing", () => {
  it("sends a job naming a node class only one of two agents has to that agent", async () => {
    // The one without the class connects first: with classes ignored it would be offered the job first.
    const without = await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage"]) });
    const withIt = await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage", "UnetLoaderGGUF"]) });
    const first = await enqueue(job(["SaveImage", "UnetLoaderGGUF"]));
    const second = await enqueue(job(["SaveImage", "UnetLoaderGGUF"], { priority: 49 }));
    expect(first.ok && second.ok).toBe(true);
    const a = await withIt.next("job");
    expect(a.job_id).toBe(first.ok ? first.value.task_id : "");
    await withIt.complete(a);
    const b = await withIt.jobFor(second.ok ? second.value.task_id : "");
    expect(b.job_id).toBe(second.ok ? second.value.task_id : "");
    expect(without.received.filter((m) => m.type === "job")).toEqual([]);
    // A job with only the class both have may go to either; the one without the custom class is idle.
    const plain = await enqueue(job(["SaveImage"], { priority: 48 }));
    const c = await without.next("job", 5000);
    expect(c.job_id).toBe(plain.ok ? plain.value.task_id : "");
  });

  it("refuses at submit with 422 unknown_node when no connected agent has a class the graph names", async () => {
    await othersGone();
    const lacking = await agent({ inventory: SD15, nodes: catalog(CORE.filter((c) => c !== "KSampler")) });
    await othersGone([lacking.id]);
    const { res, body } = await submitted({ prompt: "needs KSampler" });
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("unknown_node");
    expect(body.error.message).toContain("KSampler");
    expect(body.error.details).toEqual([{ path: expect.stringMatching(/^graph\.\w+\.class_type$/), rule: "unknown_node", message: expect.stringContaining("KSampler") }]);
    const batch = await submitted({ prompt: "a batch of it" }, "alice", { count: 2 });
    expect(batch.res.status).toBe(422);
    expect(batch.body.error.code).toBe("unknown_node");
    // A rig that has it connects: the same submission is accepted and runs there.
    const able = await agent({ inventory: SD15, nodes: catalog(CORE) });
    const ok = await submitted({ prompt: "now it can run" }, "alice", { priority: 90 });
    expect(ok.res.status).toBe(202);
    expect((await able.jobFor(ok.body.task_id)).job_id).toBe(ok.body.task_id);
  });

  it("accepts a job whose classes an agent has but whose model none has, and says what it waits for", async () => {
    await othersGone();
    await agent({ inventory: {}, nodes: catalog(CORE) });
    const { res, body } = await submitted({ prompt: "model comes later" });
    expect(res.status).toBe(202);
    expect((await task(body.task_id)).queue.waiting_for).toBe("an agent with v1-5-pruned-emaonly.safetensors");
  });

  it("still sends manifest jobs to an agent that reported no catalog (taken as having any class)", async () => {
    const old = await agent({ inventory: SD15 });
    const { res, body } = await submitted({ prompt: "older agent" }, "alice", { priority: 90 });
    expect(res.status).toBe(202);
    expect((await old.jobFor(body.task_id)).job_id).toBe(body.task_id);
    expect((await listed(old.id))).toMatchObject({ comfyui_version: null, nodes: null });
  });

  it("names the missing node class in waiting_for, routes once an inventory frame brings it, and shows catalogs in GET /agents", async () => {
    await othersGone();
    // Each class exists on some rig (so the submit is accepted), but no rig has both.
    const one = await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage", "UnetLoaderGGUF"]) });
    const other = await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage", "DualCLIPLoaderGGUF"]) });
    const queued = await enqueue(job(["DualCLIPLoaderGGUF", "SaveImage", "UnetLoaderGGUF"]));
    if (!queued.ok) throw new Error(queued.message);
    const view = await task(queued.value.task_id);
    expect(view.queue.waiting_for).toMatch(/^an agent with node class (UnetLoaderGGUF|DualCLIPLoaderGGUF)$/);

    const me = await listed(one.id);
    // Keyed by the edge's own sha256 of the classes, not the digest the agent sent.
    expect(me).toMatchObject({ comfyui_version: "0.3.40", nodes: { digest: (await withOwnDigest(catalog(["SaveImage", "UnetLoaderGGUF"]))).digest, classes: 2 } });
    expect(me!.nodes.digest).toMatch(/^[0-9a-f]{64}$/);
    const nodes = (await (await call("GET", `/agents/${one.id}/nodes?pool=default`, "admin")).json()) as Json;
    expect(nodes).toEqual({ agent_id: one.id, comfyui_version: "0.3.40", digest: me!.nodes.digest, classes: ["SaveImage", "UnetLoaderGGUF"] });
    expect((await call("GET", `/agents/nope/nodes?pool=default`, "admin")).status).toBe(404);
    expect((await call("GET", `/agents/${one.id}/nodes?pool=default`, "alice")).status).toBe(403);

    other.send({ type: "inventory", inventory: INVENTORY, nodes: catalog(["DualCLIPLoaderGGUF", "SaveImage", "UnetLoaderGGUF"]) });
    expect((await other.next("job", 5000)).job_id).toBe(queued.value.task_id);
    expect((await listed(other.id))?.nodes.classes).toBe(3);
  });

  it("fails a job whose classes no connected agent has after MAX_WAIT_S with no_capable_agent naming the classes", async () => {
    await othersGone();
    await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage", "UnetLoaderGGUF"]) });
    await agent({ inventory: INVENTORY, nodes: catalog(["SaveImage", "VAELoader"]) });
    const queued = await enqueue(job(["SaveImage", "UnetLoaderGGUF", "VAELoader"]));
    if (!queued.ok) throw new Error(queued.message);
    const start = Date.now();
    const look = (at: number) => runInDurableObject(queueFor(env, "default"), (q: JobQueue) => failHopelessJobs(q, at, 60_000).failed.map((j) => j.id));
    expect(await look(start)).not.toContain(queued.value.task_id);
    expect(await look(start + 61_000)).toContain(queued.value.task_id);
    const failed = await task(queued.value.task_id);
    expect(failed.error.code).toBe("no_capable_agent");
    expect(failed.error.message).toMatch(/node class (UnetLoaderGGUF|VAELoader)/);
    expect(failed.error.details.missing_nodes).toHaveLength(1);
    expect(failed.error.details.missing_models).toEqual([]);
  });
});

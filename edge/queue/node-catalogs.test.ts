import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION, type Hello, type NodeCatalog } from "../../shared/protocol.ts";
import { AgentRegistry } from "./agents.ts";
import { withOwnDigest } from "./node-catalogs.ts";
import { JobStore } from "./store.ts";
import { queueFor } from "./stub.ts";
import type { NewJob } from "./types.ts";

/** This file's own queue object: nothing else connects to it or queues in it. */
const POOL = "node-catalogs-test";
const MODEL = { folder: "checkpoints", name: "catalog-test.safetensors" };

const catalog = (digest: string, classes: string[]): NodeCatalog => ({ digest, classes, comfyui_version: "0.3.40" });

function hello(id: string, nodes: NodeCatalog | null, inventory: Record<string, string[]> = { checkpoints: [MODEL.name] }): Hello {
  return {
    type: "hello", protocol: PROTOCOL_VERSION, agent_id: id, name: id, version: "0", pool: POOL, capacity: 1, prefetch: 0,
    inventory, gpu: null, nodes,
  };
}

function job(id: string, nodes: string[] | undefined): NewJob {
  return {
    id, owner: "k", workflow_id: "w", pool: POOL, priority: 0, params_json: "{}", graph_json: "{}", models: [MODEL],
    ...(nodes ? { nodes } : {}), inputs: [], seed: 1, output_format: "png", quality: 90, timeout_s: 60,
    idem_key: null, idem_hash: null, webhook_url: null,
  };
}

/** Runs `fn` on fresh registry and store objects over this pool's storage, after clearing the tables they use. */
function withQueue<T>(fn: (agents: AgentRegistry, store: JobStore, sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(queueFor(env, POOL), (_q, state) => {
    const sql = state.storage.sql;
    for (const t of ["jobs", "job_payloads", "model_sets", "agents", "node_catalogs"]) sql.exec(`DELETE FROM ${t}`);
    const agents = new AgentRegistry(sql);
    return fn(agents, new JobStore(state.storage), sql);
  });
}

const runnable = (agents: AgentRegistry, store: JobStore, id: string) => agents.runnableSigs(agents.get(id)!, (after) => store.modelSets(after));

describe("node catalogs and requirement signatures", () => {
  it("keeps one copy of a catalog per digest, shares the parsed set, and drops it when no agent names it", async () => {
    await withQueue((agents, _store, sql) => {
      const c = catalog("same-rig-build", ["SaveImage", "KSampler", "SaveImage"]);
      agents.register(hello("a", c), 1, null);
      agents.register(hello("b", c), 1, null);
      expect(sql.exec(`SELECT count(*) AS n FROM node_catalogs`).one().n).toBe(1);
      const a = agents.classesOf(agents.get("a")!);
      expect(a).toBe(agents.classesOf(agents.get("b")!));
      expect([...a!]).toEqual(["KSampler", "SaveImage"]);
      agents.remove("a");
      expect(sql.exec(`SELECT count(*) AS n FROM node_catalogs`).one().n).toBe(1);
      agents.setNodes("b", catalog("after-update", ["SaveImage"]));
      expect(sql.exec<{ digest: string }>(`SELECT digest FROM node_catalogs`).toArray()).toEqual([{ digest: "after-update" }]);
      agents.remove("b");
      expect(sql.exec(`SELECT count(*) AS n FROM node_catalogs`).one().n).toBe(0);
      // An agent without a catalog: null classes, taken as any class.
      agents.register(hello("c", null), 1, null);
      expect(agents.classesOf(agents.get("c")!)).toBeNull();
    });
  });

  it("lets an agent run a signature only with every model and node class; jobs without classes keep the models-only signature", async () => {
    await withQueue((agents, store) => {
      agents.register(hello("gguf", catalog("g", ["SaveImage", "UnetLoaderGGUF"])), 1, null);
      agents.register(hello("core", catalog("c", ["SaveImage"])), 1, null);
      agents.register(hello("unreported", null), 1, null);
      agents.register(hello("no-model", catalog("g", ["SaveImage", "UnetLoaderGGUF"]), {}), 1, null);
      const custom = store.insert(job("j1", ["UnetLoaderGGUF", "SaveImage"]), 3, 1).job;
      const legacy = store.insert(job("j2", undefined), 3, 1).job;
      expect(legacy.models_sig).toBe(JSON.stringify([`checkpoints/${MODEL.name}`]));
      expect(custom.models_sig).not.toBe(legacy.models_sig);
      expect(runnable(agents, store, "gguf")).toEqual([custom.models_sig, legacy.models_sig]);
      expect(runnable(agents, store, "core")).toEqual([legacy.models_sig]);
      expect(runnable(agents, store, "unreported")).toEqual([custom.models_sig, legacy.models_sig]);
      expect(runnable(agents, store, "no-model")).toEqual([]);
      // A signature queued later joins the cached lists (only the new set is looked at).
      const later = store.insert(job("j3", ["SaveImage"]), 3, 1);
      expect(later.newModelSet).toBe(true);
      agents.modelSetsChanged();
      expect(runnable(agents, store, "core")).toEqual([legacy.models_sig, later.job.models_sig]);
      expect(runnable(agents, store, "gguf")).toEqual([custom.models_sig, legacy.models_sig, later.job.models_sig]);
      // A catalog change is looked at in full.
      agents.setNodes("core", catalog("g", ["SaveImage", "UnetLoaderGGUF"]));
      expect(runnable(agents, store, "core")).toEqual([custom.models_sig, legacy.models_sig, later.job.models_sig]);
    });
  });

  it("finds the next job among more signatures than Durable Object SQLite binds in one query", async () => {
    await withQueue((agents, store) => {
      agents.register(hello("wide", null), 1, null);
      for (let i = 0; i < 120; i++) store.insert(job(`many-${i}`, [`Custom${i}`]), 3, 1);
      const sigs = runnable(agents, store, "wide");
      expect(sigs).toHaveLength(120);
      expect(store.nextFor(sigs)?.id).toBe("many-0");
      expect(store.nextFor(sigs.slice(100))?.id).toBe("many-100");
    });
  });
});

describe("a reported catalog's digest", () => {
  it("is the edge's own sha256 of the sorted classes, whatever digest the agent sent: one key cannot overwrite another rig's catalog", async () => {
    const honest = await withOwnDigest({ digest: "anything", classes: ["KSampler", "SaveImage"], comfyui_version: null });
    const spoof = await withOwnDigest({ digest: honest.digest, classes: [], comfyui_version: null });
    expect(honest.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(spoof.digest).not.toBe(honest.digest);
    expect((await withOwnDigest({ digest: "x", classes: ["SaveImage", "KSampler", "KSampler"], comfyui_version: null })).digest).toBe(honest.digest);
  });
});

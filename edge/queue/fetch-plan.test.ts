import { describe, expect, it } from "vitest";
import { modelCatalogFromText } from "../../shared/model-catalog/catalog.ts";
import type { FetchRecord } from "./fetch-book.ts";
import { planSet, type PlanAgent } from "./fetch-plan.ts";

const GB = 1_000_000_000;
const { catalog } = modelCatalogFromText(
  `[unet]\n_ = https://example.com/big.gguf#size=${12 * GB}\n_ = https://example.com/small.gguf\n[loras]\n_ = https://example.com/style.safetensors#size=${GB}\n`,
);
const BIG = { folder: "unet", name: "big.gguf" };
const SMALL = { folder: "unet", name: "small.gguf" };
const STYLE = { folder: "loras", name: "style.safetensors" };

function agent(id: string, over: Partial<PlanAgent> & { inventory?: Record<string, string[]>; classes?: string[] } = {}): PlanAgent {
  return {
    agent_id: id,
    rig: { inventory: over.inventory ?? {}, classes: over.classes ? new Set(over.classes) : null },
    store: over.store === undefined ? { free_bytes: 100 * GB, budget_bytes: null, fetched: [] } : over.store,
    usable: over.usable ?? true,
    held: over.held ?? 0,
  };
}

function fetchRow(agentId: string, model: string, state: FetchRecord["state"], extra: Partial<FetchRecord> = {}): FetchRecord {
  return { fetch_id: `fch_${agentId}_${model}`, model, agent_id: agentId, state, bytes: 0, total: null, started_at: 1, deadline: 2, finished_at: null, error: null, open: 1, ...extra };
}

const none = () => [];

describe("planSet: which agent fetches what a requirements set lacks", () => {
  it("asks the least busy capable agent for every model it lacks, from the catalog", () => {
    const plan = planSet({ models: [SMALL, STYLE], nodes: [] }, [agent("busy", { held: 2 }), agent("idle"), agent("half", { inventory: { loras: ["style.safetensors"] }, held: 1 })], catalog, [], none);
    expect(plan).toMatchObject({ kind: "fetch", agent_id: "idle" });
    expect(plan.kind === "fetch" && plan.fetches.map((f) => [f.key, f.entry.url])).toEqual([
      ["unet/small.gguf", "https://example.com/small.gguf"],
      ["loras/style.safetensors", "https://example.com/style.safetensors"],
    ]);
    // Equally busy: the one lacking fewer files.
    expect(planSet({ models: [SMALL, STYLE], nodes: [] }, [agent("a"), agent("b", { inventory: { loras: ["style.safetensors"] } })], catalog, [], none)).toMatchObject({ agent_id: "b" });
  });

  it("passes over agents without a store, not usable, lacking a node class, without room on disk or within their budget", () => {
    const req = { models: [BIG], nodes: ["UnetLoaderGGUF"] };
    const agents = [
      agent("no-store", { store: null }),
      agent("paused", { usable: false }),
      agent("no-gguf", { classes: ["KSampler"] }),
      agent("full", { store: { free_bytes: 11 * GB, budget_bytes: null, fetched: [] } }),
      agent("small-budget", { store: { free_bytes: 100 * GB, budget_bytes: 10 * GB, fetched: [] } }),
    ];
    expect(planSet(req, agents, catalog, [], none)).toEqual({ kind: "none" });
    expect(planSet(req, [...agents, agent("fits", { classes: ["UnetLoaderGGUF"], held: 3 })], catalog, [], none)).toMatchObject({ kind: "fetch", agent_id: "fits" });
    // Files it fetched before may be evicted for the new one: its free disk alone does not bar it.
    const evicts = agent("evicts", { store: { free_bytes: GB, budget_bytes: 20 * GB, fetched: ["unet/old.gguf"] } });
    expect(planSet(req, [...agents, evicts], catalog, [], none)).toMatchObject({ kind: "fetch", agent_id: "evicts" });
  });

  it("fetches nothing when a model the set lacks is not in the catalog", () => {
    expect(planSet({ models: [SMALL, { folder: "unet", name: "elsewhere.gguf" }], nodes: [] }, [agent("a")], catalog, [], none)).toEqual({ kind: "none" });
  });

  it("waits on a fetch already running for it, and never starts a second download of a model elsewhere", () => {
    const running = [fetchRow("a", "unet/small.gguf", "fetching")];
    expect(planSet({ models: [SMALL], nodes: [] }, [agent("b"), agent("a", { held: 5 })], catalog, running, none)).toEqual({ kind: "waiting", agent_id: "a" });
    // a cannot run the rest (a node class), b would need small.gguf again: nothing new starts.
    expect(planSet({ models: [SMALL], nodes: ["X"] }, [agent("a", { classes: [] }), agent("b")], catalog, running, none)).toEqual({ kind: "none" });
    // Room counts what its running fetches still have to write.
    const writing = [fetchRow("a", "unet/small.gguf", "fetching", { total: 100 * GB, bytes: GB / 2 })];
    expect(planSet({ models: [STYLE], nodes: [] }, [agent("a")], catalog, writing, none)).toEqual({ kind: "none" });
  });

  it("after one failure asks another agent, never the one that failed; gives up after two, or at once when no other agent can", () => {
    const once = (key: string) => (key === "unet/small.gguf" ? [fetchRow("a", key, "failed", { error: "not_found: 404" })] : []);
    expect(planSet({ models: [SMALL], nodes: [] }, [agent("a"), agent("b", { held: 4 })], catalog, [], once)).toMatchObject({ kind: "fetch", agent_id: "b" });
    expect(planSet({ models: [SMALL], nodes: [] }, [agent("a")], catalog, [], once)).toMatchObject({ kind: "give_up", key: "unet/small.gguf" });
    const twice = (key: string) => [fetchRow("a", key, "failed"), fetchRow("b", key, "failed")];
    expect(planSet({ models: [SMALL], nodes: [] }, [agent("a"), agent("b"), agent("c")], catalog, [], twice)).toMatchObject({ kind: "give_up", ref: SMALL });
  });
});

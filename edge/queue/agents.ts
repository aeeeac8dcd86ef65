import type { Hello, ModelInventory, ModelStore, NodeCatalog } from "../../shared/protocol.ts";
import type { ModelRef } from "../../shared/models.ts";
import { rigCanRun, type Requirements } from "../../shared/requirements.ts";
import { NodeCatalogs } from "./node-catalogs.ts";

export interface AgentRecord {
  agent_id: string;
  name: string;
  version: string;
  capacity: number;
  prefetch: number;
  inventory: ModelInventory;
  gpu: { name: string; vram_total_mb: number } | null;
  accepting: boolean;
  /** Why the agent takes no jobs (its `pause` reason), null while it does. */
  pause_reason: string | null;
  last_model: string | null;
  connected_at: number;
  last_seen: number;
  /** The name of the agent key that registered this id: another key may not take it over. */
  key: string | null;
  /** The digest of the node catalog it reported (node-catalogs.ts); null: none reported, taken as having any class. */
  nodes_digest: string | null;
  comfyui_version: string | null;
  /** What it can do about fetching models (free disk, budget, what it fetched); null: it does not fetch. */
  model_store: ModelStore | null;
}

/** A requirements set as the store lists it (JobStore.modelSets): `models` and `nodes` are JSON text. */
export type ModelSetRow = { rowid: number; sig: string; models: string; nodes: string };

type Row = Record<string, SqlStorageValue>;

function toRecord(r: Row): AgentRecord {
  return {
    agent_id: String(r.agent_id),
    name: String(r.name),
    version: String(r.version),
    capacity: Number(r.capacity),
    prefetch: Number(r.prefetch),
    inventory: JSON.parse(String(r.inventory)),
    gpu: r.gpu ? JSON.parse(String(r.gpu)) : null,
    accepting: Number(r.accepting) === 1,
    pause_reason: (r.pause_reason as string | null) ?? null,
    last_model: (r.last_model as string | null) ?? null,
    connected_at: Number(r.connected_at),
    last_seen: Number(r.last_seen),
    key: (r.agent_key as string | null) ?? null,
    nodes_digest: (r.nodes_digest as string | null) ?? null,
    comfyui_version: (r.comfyui_version as string | null) ?? null,
    model_store: r.model_store ? JSON.parse(String(r.model_store)) : null,
  };
}

/**
 * Agents known to this queue, in SQLite so they survive hibernation, with an in-memory
 * cache in front (rebuilt lazily after a wake). Liveness is the frames received (last_seen, see liveness.ts).
 */
export class AgentRegistry {
  private readonly sql: SqlStorage;
  private cache: Map<string, AgentRecord> | null = null;
  /** last_seen as written to SQLite, per agent (what a wake would read back). */
  private persistedSeen = new Map<string, number>();
  /**
   * Which requirement signatures each agent can run, keyed by agent: dropped when its inventory or
   * catalog changes; new signatures (a higher rowid than `after`) are added to it as they appear.
   */
  private runnable = new Map<string, { version: number; after: number; sigs: string[] }>();
  private modelSetsVersion = 0;
  /** Each signature's requirements, parsed once. */
  private readonly requirements = new Map<string, Requirements>();
  private readonly catalogs: NodeCatalogs;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.catalogs = new NodeCatalogs(sql);
  }

  private all(): Map<string, AgentRecord> {
    if (!this.cache) {
      this.cache = new Map(this.sql.exec<Row>(`SELECT * FROM agents`).toArray().map((r) => [String(r.agent_id), toRecord(r)]));
    }
    return this.cache;
  }

  get(id: string): AgentRecord | undefined {
    return this.all().get(id);
  }

  list(): AgentRecord[] {
    return [...this.all().values()];
  }

  register(h: Hello, now: number, key: string | null): AgentRecord {
    const existing = this.get(h.agent_id);
    const rec: AgentRecord = {
      agent_id: h.agent_id,
      name: h.name,
      version: h.version,
      capacity: h.capacity,
      prefetch: h.prefetch,
      inventory: h.inventory,
      gpu: h.gpu,
      accepting: !h.pause_reason,
      pause_reason: h.pause_reason ?? null,
      last_model: existing?.last_model ?? null,
      connected_at: now,
      last_seen: now,
      key,
      nodes_digest: h.nodes?.digest ?? null,
      comfyui_version: h.nodes?.comfyui_version ?? null,
      model_store: h.model_store ?? null,
    };
    if (h.nodes) this.storeCatalog(h.nodes);
    this.sql.exec(
      `INSERT OR REPLACE INTO agents (agent_id, name, version, capacity, prefetch, inventory, gpu, accepting, last_model, connected_at, last_seen, agent_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      rec.agent_id, rec.name, rec.version, rec.capacity, rec.prefetch, JSON.stringify(rec.inventory),
      rec.gpu ? JSON.stringify(rec.gpu) : null, rec.accepting ? 1 : 0, rec.last_model, now, now, key,
    );
    this.sql.exec(
      `UPDATE agents SET pause_reason = ?, nodes_digest = ?, comfyui_version = ? WHERE agent_id = ?`,
      rec.pause_reason, rec.nodes_digest, rec.comfyui_version, rec.agent_id,
    );
    this.sql.exec(`UPDATE agents SET model_store = ? WHERE agent_id = ?`, rec.model_store ? JSON.stringify(rec.model_store) : null, rec.agent_id);
    this.persistedSeen.set(rec.agent_id, now);
    this.all().set(rec.agent_id, rec);
    this.runnable.delete(rec.agent_id);
    if (existing?.nodes_digest && existing.nodes_digest !== rec.nodes_digest) this.catalogs.prune();
    return rec;
  }

  /** The agent's node catalog changed (an `inventory` frame's `nodes`). */
  setNodes(id: string, catalog: NodeCatalog): void {
    const rec = this.get(id);
    if (!rec) return;
    const before = rec.nodes_digest;
    this.storeCatalog(catalog);
    rec.nodes_digest = catalog.digest;
    rec.comfyui_version = catalog.comfyui_version;
    this.sql.exec(`UPDATE agents SET nodes_digest = ?, comfyui_version = ? WHERE agent_id = ?`, rec.nodes_digest, rec.comfyui_version, id);
    this.runnable.delete(id);
    if (before && before !== catalog.digest) this.catalogs.prune();
  }

  /** Stores a catalog; agents sharing a digest whose classes changed (last report wins) are looked at again. */
  private storeCatalog(catalog: NodeCatalog): void {
    if (!this.catalogs.put(catalog)) return;
    for (const a of this.all().values()) if (a.nodes_digest === catalog.digest) this.runnable.delete(a.agent_id);
  }

  /** The node classes the agent's ComfyUI has (cached per digest); null: it reported none (taken as any class). */
  classesOf(rec: AgentRecord): ReadonlySet<string> | null {
    return rec.nodes_digest === null ? null : this.catalogs.classes(rec.nodes_digest);
  }

  /** The agent's class list (sorted), for the admin view; null: it reported none. */
  classListOf(rec: AgentRecord): string[] | null {
    return rec.nodes_digest === null ? null : this.catalogs.list(rec.nodes_digest);
  }

  /**
   * Last-seen (the last frame received) is kept in memory and written at most every `maxStaleMs`
   * (frames are frequent): after a wake the liveness check reads a value at most that old.
   */
  touch(id: string, now: number, maxStaleMs = 5_000): void {
    const rec = this.get(id);
    if (!rec) return;
    rec.last_seen = now;
    if (now - (this.persistedSeen.get(id) ?? 0) < maxStaleMs) return;
    this.sql.exec(`UPDATE agents SET last_seen = ? WHERE agent_id = ?`, now, id);
    this.persistedSeen.set(id, now);
  }

  /** `reason` says why it takes no jobs (shown by `GET /agents`); accepting clears it. */
  setAccepting(id: string, accepting: boolean, reason: string | null = null): void {
    const rec = this.get(id);
    if (!rec) return;
    rec.accepting = accepting;
    rec.pause_reason = accepting ? null : reason;
    this.sql.exec(`UPDATE agents SET accepting = ?, pause_reason = ? WHERE agent_id = ?`, accepting ? 1 : 0, rec.pause_reason, id);
  }

  setLastModel(id: string, model: string | null): void {
    const rec = this.get(id);
    if (!rec || rec.last_model === model) return;
    rec.last_model = model;
    this.sql.exec(`UPDATE agents SET last_model = ? WHERE agent_id = ?`, model, id);
  }

  /** The agent's whole inventory, as it last reported it. */
  setInventory(id: string, inventory: ModelInventory): void {
    const rec = this.get(id);
    if (!rec) return;
    rec.inventory = inventory;
    this.sql.exec(`UPDATE agents SET inventory = ? WHERE agent_id = ?`, JSON.stringify(inventory), id);
    this.runnable.delete(id);
  }

  /** The agent's model store as it last reported it (hello, inventory, fetch_result); null: it does not fetch. */
  setModelStore(id: string, store: ModelStore | null): void {
    const rec = this.get(id);
    if (!rec) return;
    rec.model_store = store;
    this.sql.exec(`UPDATE agents SET model_store = ? WHERE agent_id = ?`, store ? JSON.stringify(store) : null, id);
  }

  /** Drops model files from an agent's inventory (ComfyUI said it lacks them); its next hello restores the truth. */
  forgetModels(id: string, names: string[]): void {
    const rec = this.get(id);
    if (!rec) return;
    const gone = new Set(names);
    for (const folder of Object.keys(rec.inventory)) {
      const left = rec.inventory[folder]!.filter((n) => !gone.has(n));
      if (left.length) rec.inventory[folder] = left;
      else delete rec.inventory[folder];
    }
    this.sql.exec(`UPDATE agents SET inventory = ? WHERE agent_id = ?`, JSON.stringify(rec.inventory), id);
    this.runnable.delete(id);
  }

  remove(id: string): void {
    this.all().delete(id);
    this.persistedSeen.delete(id);
    this.runnable.delete(id);
    this.sql.exec(`DELETE FROM agents WHERE agent_id = ?`, id);
    this.catalogs.prune();
  }

  modelSetsChanged(): void {
    this.modelSetsVersion++;
  }

  /** A signature's requirements (its models and node classes), parsed once. */
  requirementsOf(set: { sig: string; models: string; nodes?: string }): Requirements {
    let req = this.requirements.get(set.sig);
    if (!req) {
      req = { models: JSON.parse(set.models) as ModelRef[], nodes: set.nodes ? (JSON.parse(set.nodes) as string[]) : [] };
      this.requirements.set(set.sig, req);
    }
    return req;
  }

  /**
   * The requirement signatures (see JobStore.insert) this agent can run: it has every model file
   * and node class (shared/requirements.ts, the rule the fetch planner applies too). Cached per
   * agent; signatures added since the last look are checked alone. `modelSets(after)` lists the
   * sets with a rowid above `after`.
   */
  runnableSigs(rec: AgentRecord, modelSets: (after: number) => ModelSetRow[]): string[] {
    const hit = this.runnable.get(rec.agent_id);
    if (hit && hit.version === this.modelSetsVersion) return hit.sigs;
    const after = hit?.after ?? 0;
    const rig = { inventory: rec.inventory, classes: this.classesOf(rec) };
    const sigs = hit ? [...hit.sigs] : [];
    let last = after;
    for (const set of modelSets(after)) {
      if (set.rowid <= after) continue;
      last = Math.max(last, set.rowid);
      if (rigCanRun(rig, this.requirementsOf(set))) sigs.push(set.sig);
    }
    this.runnable.set(rec.agent_id, { version: this.modelSetsVersion, after: last, sigs });
    return sigs;
  }
}

import type { Hello, ModelInventory } from "../../shared/protocol.ts";
import { inventoryHas, type ModelRef } from "../../shared/models.ts";

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
}

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
  /** Which model signatures each agent can run, keyed by agent, invalidated on hello or new signatures. */
  private runnable = new Map<string, { version: number; sigs: string[] }>();
  private modelSetsVersion = 0;

  constructor(sql: SqlStorage) {
    this.sql = sql;
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
    };
    this.sql.exec(
      `INSERT OR REPLACE INTO agents (agent_id, name, version, capacity, prefetch, inventory, gpu, accepting, last_model, connected_at, last_seen, agent_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      rec.agent_id, rec.name, rec.version, rec.capacity, rec.prefetch, JSON.stringify(rec.inventory),
      rec.gpu ? JSON.stringify(rec.gpu) : null, rec.accepting ? 1 : 0, rec.last_model, now, now, key,
    );
    this.sql.exec(`UPDATE agents SET pause_reason = ? WHERE agent_id = ?`, rec.pause_reason, rec.agent_id);
    this.persistedSeen.set(rec.agent_id, now);
    this.all().set(rec.agent_id, rec);
    this.runnable.delete(rec.agent_id);
    return rec;
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
  }

  modelSetsChanged(): void {
    this.modelSetsVersion++;
  }

  /** The model signatures (see JobStore.insert) this agent's inventory covers. */
  runnableSigs(rec: AgentRecord, modelSets: () => { sig: string; models: string }[]): string[] {
    const hit = this.runnable.get(rec.agent_id);
    if (hit && hit.version === this.modelSetsVersion) return hit.sigs;
    const sigs = modelSets()
      .filter((s) => (JSON.parse(s.models) as ModelRef[]).every((m) => inventoryHas(rec.inventory, m)))
      .map((s) => s.sig);
    this.runnable.set(rec.agent_id, { version: this.modelSetsVersion, sigs });
    return sigs;
  }
}

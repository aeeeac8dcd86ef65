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
  last_model: string | null;
  connected_at: number;
  last_seen: number;
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
    last_model: (r.last_model as string | null) ?? null,
    connected_at: Number(r.connected_at),
    last_seen: Number(r.last_seen),
  };
}

/**
 * Agents known to this queue, in SQLite so they survive hibernation, with an in-memory
 * cache in front (rebuilt lazily after a wake). Liveness is the socket, not the row.
 */
export class AgentRegistry {
  private readonly sql: SqlStorage;
  private cache: Map<string, AgentRecord> | null = null;
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

  register(h: Hello, now: number): AgentRecord {
    const existing = this.get(h.agent_id);
    const rec: AgentRecord = {
      agent_id: h.agent_id,
      name: h.name,
      version: h.version,
      capacity: h.capacity,
      prefetch: h.prefetch,
      inventory: h.inventory,
      gpu: h.gpu,
      accepting: true,
      last_model: existing?.last_model ?? null,
      connected_at: now,
      last_seen: now,
    };
    this.sql.exec(
      `INSERT OR REPLACE INTO agents (agent_id, name, version, capacity, prefetch, inventory, gpu, accepting, last_model, connected_at, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
      rec.agent_id, rec.name, rec.version, rec.capacity, rec.prefetch, JSON.stringify(rec.inventory),
      rec.gpu ? JSON.stringify(rec.gpu) : null, rec.last_model, now, now,
    );
    this.all().set(rec.agent_id, rec);
    this.runnable.delete(rec.agent_id);
    return rec;
  }

  /** Last-seen is kept in memory and written at most every few seconds (heartbeats are frequent). */
  touch(id: string, now: number): void {
    const rec = this.get(id);
    if (!rec) return;
    if (now - rec.last_seen > 5_000) this.sql.exec(`UPDATE agents SET last_seen = ? WHERE agent_id = ?`, now, id);
    rec.last_seen = now;
  }

  setAccepting(id: string, accepting: boolean): void {
    const rec = this.get(id);
    if (!rec) return;
    rec.accepting = accepting;
    this.sql.exec(`UPDATE agents SET accepting = ? WHERE agent_id = ?`, accepting ? 1 : 0, id);
  }

  setLastModel(id: string, model: string | null): void {
    const rec = this.get(id);
    if (!rec || rec.last_model === model) return;
    rec.last_model = model;
    this.sql.exec(`UPDATE agents SET last_model = ? WHERE agent_id = ?`, model, id);
  }

  /** Drops model files from an agent's inventory (ComfyUI said it lacks them); its next hello restores the truth. */
  forgetModels(id: string, names: string[]): void {
    const rec = this.get(id);
    if (!rec) return;
    const gone = new Set(names);
    for (const folder of Object.keys(rec.inventory)) rec.inventory[folder] = rec.inventory[folder]!.filter((n) => !gone.has(n));
    this.sql.exec(`UPDATE agents SET inventory = ? WHERE agent_id = ?`, JSON.stringify(rec.inventory), id);
    this.runnable.delete(id);
  }

  remove(id: string): void {
    this.all().delete(id);
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

import { rm, stat } from "node:fs/promises";
import type { Logger } from "pino";
import { modelKey, modelKeyOfPath, type ModelRef } from "../../shared/models.ts";
import type { ModelStore as ModelStoreFacts } from "../../shared/protocol.ts";
import { freeBytes } from "./disk.ts";
import { loadRecords, removeDownloadLeftovers, saveRecords, type FetchedRecord } from "./records.ts";
import { modelTarget, type ModelTarget } from "./refs.ts";
import { planRoom } from "./room.ts";

export type ModelStoreOptions = {
  /** ComfyUI's models folder. */
  modelsDir: string;
  /** Where the fetched-model records live (`recordsFile(stateDir, name)`). */
  recordsFile: string;
  /** The budget for fetched models; null: only free disk limits. */
  budgetBytes: number | null;
  /** `folder/name` entries never evicted. */
  pinned: readonly string[];
  /** Disk left free beyond a new model. @defaultValue 1 GiB */
  marginBytes?: number;
  /** Free bytes on the disk holding a folder. @defaultValue statfs */
  freeBytes?: (dir: string) => Promise<number>;
  /** The clock for "last used". @defaultValue Date.now */
  now?: () => number;
  log: Logger;
};

/** Room held for a fetch in flight: its size counts against the budget and the disk until it ends. */
export type Reservation = { written(bytes: number): void; release(): void };

export type RoomOutcome = { ok: true; evicted: string[]; reservation: Reservation } | { ok: false; message: string };

const DEFAULT_MARGIN = 1024 ** 3;

/**
 * The models this agent fetched into ComfyUI's models folder: which they are (kept in the state
 * dir across restarts), when each was last used, and room for a new one within the budget and the
 * disk, made by evicting the least recently used. Files it did not fetch (there at start, copied in
 * by the operator) and `pinned` ones are never evicted; neither are models a held job uses.
 */
export class ModelStore {
  readonly #opts: ModelStoreOptions;
  readonly #records: Map<string, FetchedRecord>;
  readonly #pinned: Set<string>;
  readonly #reserved = new Map<string, { bytes: number; written: number }>();
  #lock: Promise<unknown> = Promise.resolve();
  #saving: Promise<void> = Promise.resolve();

  private constructor(opts: ModelStoreOptions, records: Map<string, FetchedRecord>) {
    this.#opts = opts;
    // Keyed by modelKey whatever key an earlier version wrote them under.
    this.#records = new Map([...records.values()].map((r) => [modelKey(r), r]));
    this.#pinned = new Set(opts.pinned.map(modelKeyOfPath));
  }

  /** Reads the records of earlier runs (dropping those whose files are gone or changed). */
  static async open(opts: ModelStoreOptions): Promise<ModelStore> {
    const fileOf = (r: FetchedRecord): string | null => {
      const target = modelTarget(opts.modelsDir, r);
      return "problem" in target ? null : target.file;
    };
    const { records, dropped } = await loadRecords(opts.recordsFile, opts.modelsDir, fileOf);
    if (dropped.length) opts.log.info({ dropped }, "forgot fetched models that are gone or were replaced since the last run");
    const store = new ModelStore(opts, records);
    if (dropped.length) store.#save();
    return store;
  }

  get modelsDir(): string {
    return this.#opts.modelsDir;
  }

  target(ref: ModelRef): ModelTarget | { problem: string } {
    return modelTarget(this.#opts.modelsDir, ref);
  }

  /** Whether this agent fetched the file (and so may replace or evict it). */
  isFetched(key: string): boolean {
    return this.#records.has(modelKeyOfPath(key));
  }

  /** What `hello`, `inventory` and `fetch_result` say about the store. */
  async facts(): Promise<ModelStoreFacts> {
    const free = await this.#free().catch(() => 0);
    const fetched = [...this.#records.entries()].filter(([, r]) => r.state === "complete").map(([key]) => key).sort();
    return { free_bytes: Math.max(0, Math.floor(free)), budget_bytes: this.#opts.budgetBytes, fetched };
  }

  /** A job starts with these models (`folder/name`): they are the most recently used now. */
  touch(keys: readonly string[]): void {
    const wanted = new Set(keys.map(modelKeyOfPath));
    const now = this.#now();
    let changed = false;
    for (const [key, record] of this.#records) {
      if (!wanted.has(key)) continue;
      record.last_used = now;
      changed = true;
    }
    if (changed) this.#save();
  }

  /**
   * Makes room for a model of `bytes` (`onDisk` of it already there as a `.part`), evicting the least
   * recently used fetched models that are not pinned nor in `inUse`; or says why it cannot fit, evicting
   * nothing. The reservation holds the room until the fetch ends.
   */
  makeRoom(key: string, bytes: number, onDisk: number, inUse: Iterable<string>): Promise<RoomOutcome> {
    return this.#exclusive(async () => {
      const plan = planRoom({
        need: Math.max(0, bytes - onDisk),
        free: (await this.#free()) - this.#pendingWrites(),
        margin: this.#opts.marginBytes ?? DEFAULT_MARGIN,
        budget: this.#opts.budgetBytes,
        used: this.#used(),
        candidates: this.#candidates(inUse, key),
      });
      if (!plan.ok) return plan;
      for (const victim of plan.evict) await this.#evict(victim);
      return { ok: true, evicted: plan.evict, reservation: this.#reserve(key, bytes) };
    });
  }

  /**
   * After a fetch whose size was unknown up front: evicts others until the budget holds with the
   * new file in it, or says it cannot (the file alone, with what may not go, is over the budget).
   */
  fitBudget(key: string, inUse: Iterable<string>): Promise<{ ok: true; evicted: string[] } | { ok: false; message: string }> {
    return this.#exclusive(async () => {
      const plan = planRoom({ need: 0, free: Number.POSITIVE_INFINITY, margin: 0, budget: this.#opts.budgetBytes, used: this.#used(), candidates: this.#candidates(inUse, key) });
      if (!plan.ok) return plan;
      for (const victim of plan.evict) await this.#evict(victim);
      return { ok: true, evicted: plan.evict };
    });
  }

  /** A download into `ref`'s place starts: from now on a file there is this agent's. */
  begin(ref: ModelRef): void {
    const now = this.#now();
    this.#records.set(modelKey(ref), { folder: ref.folder, name: ref.name, state: "fetching", bytes: null, fetched_at: now, last_used: now });
    this.#save();
  }

  /** The file is in place and verified. */
  complete(ref: ModelRef, bytes: number): void {
    const now = this.#now();
    const earlier = this.#records.get(modelKey(ref));
    this.#records.set(modelKey(ref), { folder: ref.folder, name: ref.name, state: "complete", bytes, fetched_at: earlier?.fetched_at ?? now, last_used: now });
    this.#save();
  }

  /** The download failed (its leftovers are removed by the caller) or the file was removed. */
  forget(ref: ModelRef): void {
    if (this.#records.delete(modelKey(ref))) this.#save();
  }

  /** Resolves once every record change so far is on disk. */
  flushed(): Promise<void> {
    return this.#saving;
  }

  async #evict(key: string): Promise<void> {
    const record = this.#records.get(key);
    if (!record) return;
    const target = this.target(record);
    if (!("problem" in target)) {
      await rm(target.file, { force: true });
      await removeDownloadLeftovers(target.file);
    }
    this.#records.delete(key);
    this.#save();
    this.#opts.log.info({ model: key, bytes: record.bytes, last_used: new Date(record.last_used).toISOString() }, "evicted a fetched model to make room");
  }

  #candidates(inUse: Iterable<string>, except: string): { key: string; bytes: number }[] {
    const busy = new Set([...inUse].map(modelKeyOfPath));
    busy.add(modelKeyOfPath(except));
    return [...this.#records.entries()]
      .filter(([key, r]) => r.state === "complete" && !this.#pinned.has(key) && !busy.has(key))
      .sort(([, a], [, b]) => a.last_used - b.last_used)
      .map(([key, r]) => ({ key, bytes: r.bytes ?? 0 }));
  }

  /** Bytes the fetched models take, counting fetches in flight at their full size. */
  #used(): number {
    let used = 0;
    for (const r of this.#records.values()) if (r.state === "complete") used += r.bytes ?? 0;
    for (const r of this.#reserved.values()) used += r.bytes;
    return used;
  }

  /** Bytes fetches in flight will still write (free space does not show them yet). */
  #pendingWrites(): number {
    let pending = 0;
    for (const r of this.#reserved.values()) pending += Math.max(0, r.bytes - r.written);
    return pending;
  }

  #reserve(key: string, bytes: number): Reservation {
    const entry = { bytes, written: 0 };
    this.#reserved.set(key, entry);
    return {
      written: (n) => {
        entry.written = n;
      },
      release: () => {
        if (this.#reserved.get(key) === entry) this.#reserved.delete(key);
      },
    };
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #free(): Promise<number> {
    return (this.#opts.freeBytes ?? freeBytes)(this.#opts.modelsDir);
  }

  /** Room planning and eviction one at a time, so two fetches never count the same free bytes. */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work, work);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #save(): void {
    const snapshot = new Map([...this.#records].map(([k, r]) => [k, { ...r }]));
    this.#saving = this.#saving
      .then(() => saveRecords(this.#opts.recordsFile, this.#opts.modelsDir, snapshot))
      .catch((e: unknown) => this.#opts.log.warn({ err: String(e), file: this.#opts.recordsFile }, "could not record the fetched models; after a restart they count as the operator's (never evicted)"));
  }
}

/** The size of a file, or null when there is none. */
export async function sizeOf(file: string): Promise<number | null> {
  return stat(file).then((s) => s.size, () => null);
}

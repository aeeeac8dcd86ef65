import type { Logger } from "pino";
import type { ModelInventory, NodeCatalog } from "../shared/protocol.ts";

export type InventoryRefreshDeps = {
  /** Reads ComfyUI's model files now (`ComfyClient.inventory`). @throws when ComfyUI does not answer */
  read: () => Promise<ModelInventory>;
  /** Sends the `inventory` message (with `nodes` when the catalog changed); false when the edge is not connected (the next hello carries it). */
  send: (inventory: ModelInventory, nodes?: NodeCatalog) => boolean | Promise<boolean>;
  /**
   * Reads ComfyUI's node catalog (`ComfyClient.nodeCatalog`). Only when it may have changed: at
   * the first hello and after ComfyUI restarted (`nodesMayHaveChanged`), not on periodic reads.
   * Absent: no catalog is reported.
   */
  readNodes?: () => Promise<NodeCatalog>;
  /** Between periodic reads; 0: none (only `refresh()` calls). */
  intervalMs: number;
  /** True while a read is pointless (ComfyUI known to be down). */
  skip?: () => boolean;
  log: Logger;
};

/**
 * Keeps the edge's copy of this rig's model files current: read again every `intervalMs`, and at
 * once when asked (ComfyUI restarted, a `model_missing`). Only a change is sent, unless forced
 * (after `model_missing` the edge dropped models from its copy, so it gets the whole truth back).
 *
 * @example
 * const inventory = new InventoryRefresh({ read: () => comfy.inventory(), send, intervalMs: 60_000, log });
 * inventory.known(helloInventory); inventory.start();
 * void inventory.refresh("ComfyUI restarted");
 */
export class InventoryRefresh {
  readonly #deps: InventoryRefreshDeps;
  #known: string | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<void> | null = null;
  #again: { reason: string; force: boolean } | null = null;
  #closed = false;
  /** The catalog last read (null: none yet), whether ComfyUI may have changed it since, and the digest the edge has. */
  #nodes: NodeCatalog | null = null;
  #nodesStale = true;
  #edgeDigest: string | null = null;

  constructor(deps: InventoryRefreshDeps) {
    this.#deps = deps;
  }

  /** What the edge was last told (a `hello` carries the inventory too). */
  known(inventory: ModelInventory): void {
    this.#known = canonical(inventory);
  }

  /**
   * The node catalog for a `hello` (which the edge then has): read first when it may have changed
   * (and `mayRead`: ComfyUI is not known to be down), else the one known; the last known one (or
   * null) when ComfyUI does not answer.
   */
  async nodesForHello(mayRead = true): Promise<NodeCatalog | null> {
    if (mayRead) await this.#readNodesIfStale("hello");
    this.#edgeDigest = this.#nodes?.digest ?? null;
    return this.#nodes;
  }

  /** ComfyUI may have restarted (custom nodes load at start): the next read looks at its catalog again. */
  nodesMayHaveChanged(): void {
    this.#nodesStale = true;
  }

  start(): void {
    if (this.#deps.intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.refresh("periodic"), this.#deps.intervalMs);
    this.#timer.unref();
  }

  /** Reads the inventory and sends it if it changed (or `force`); overlapping calls coalesce into one more read. */
  refresh(reason: string, force = false): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running) {
      this.#again = { reason, force: force || (this.#again?.force ?? false) };
      return this.#running;
    }
    this.#running = this.#once(reason, force).finally(() => {
      this.#running = null;
      const next = this.#again;
      this.#again = null;
      if (next) void this.refresh(next.reason, next.force);
    });
    return this.#running;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #once(reason: string, force: boolean): Promise<void> {
    if (this.#deps.skip?.()) return;
    await this.#readNodesIfStale(reason);
    let inventory: ModelInventory;
    try {
      inventory = await this.#deps.read();
    } catch (e) {
      this.#deps.log.debug({ reason, err: String(e) }, "could not read ComfyUI's model files; the edge keeps the last inventory");
      return;
    }
    if (this.#closed) return;
    const text = canonical(inventory);
    const nodes = this.#nodes && this.#nodes.digest !== this.#edgeDigest ? this.#nodes : undefined;
    if (!force && text === this.#known && !nodes) return;
    if (!(await this.#deps.send(inventory, nodes))) return;
    this.#known = text;
    if (nodes) {
      this.#edgeDigest = nodes.digest;
      this.#deps.log.info({ reason, classes: nodes.classes.length, digest: nodes.digest.slice(0, 12), comfyui_version: nodes.comfyui_version }, "sent the edge the rig's node classes");
    }
    const files = Object.values(inventory).reduce((n, list) => n + list.length, 0);
    this.#deps.log.info({ reason, folders: Object.keys(inventory).length, files }, "sent the edge the rig's model files");
  }

  async #readNodesIfStale(reason: string): Promise<void> {
    const read = this.#deps.readNodes;
    if (!read || !this.#nodesStale) return;
    try {
      const nodes = await read();
      this.#nodes = nodes;
      this.#nodesStale = false;
    } catch (e) {
      this.#deps.log.debug({ reason, err: String(e) }, "could not read ComfyUI's node classes; the edge keeps the last catalog");
    }
  }
}

/** Same files, same text: folders and names sorted. */
function canonical(inventory: ModelInventory): string {
  return JSON.stringify(Object.keys(inventory).sort().map((folder) => [folder, [...(inventory[folder] ?? [])].sort()]));
}

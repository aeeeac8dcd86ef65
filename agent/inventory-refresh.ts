import type { Logger } from "pino";
import type { ModelInventory } from "../shared/protocol.ts";

export type InventoryRefreshDeps = {
  /** Reads ComfyUI's model files now (`ComfyClient.inventory`). @throws when ComfyUI does not answer */
  read: () => Promise<ModelInventory>;
  /** Sends the `inventory` message; false when the edge is not connected (the next hello carries it). */
  send: (inventory: ModelInventory) => boolean;
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

  constructor(deps: InventoryRefreshDeps) {
    this.#deps = deps;
  }

  /** What the edge was last told (a `hello` carries the inventory too). */
  known(inventory: ModelInventory): void {
    this.#known = canonical(inventory);
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
    let inventory: ModelInventory;
    try {
      inventory = await this.#deps.read();
    } catch (e) {
      this.#deps.log.debug({ reason, err: String(e) }, "could not read ComfyUI's model files; the edge keeps the last inventory");
      return;
    }
    if (this.#closed) return;
    const text = canonical(inventory);
    if (!force && text === this.#known) return;
    if (!this.#deps.send(inventory)) return;
    this.#known = text;
    const files = Object.values(inventory).reduce((n, list) => n + list.length, 0);
    this.#deps.log.info({ reason, folders: Object.keys(inventory).length, files }, "sent the edge the rig's model files");
  }
}

/** Same files, same text: folders and names sorted. */
function canonical(inventory: ModelInventory): string {
  return JSON.stringify(Object.keys(inventory).sort().map((folder) => [folder, [...(inventory[folder] ?? [])].sort()]));
}

import type { Logger } from "pino";
import { undiciTransport, type Transport } from "../../install/models/transport.ts";
import { inventoryHas, modelKey } from "../../shared/models.ts";
import type { AgentMessage, FetchMessage, FetchResult, ModelInventory } from "../../shared/protocol.ts";
import { Throttle } from "../throttle.ts";
import type { DownloadResult } from "./download.ts";
import { fetchModel } from "./fetch-one.ts";
import type { ModelStore } from "./store.ts";

export type ModelFetchesDeps = {
  /** Null: this agent has no models folder and refuses every fetch. */
  store: ModelStore | null;
  /** Sends to the edge; false when not connected. */
  send: (message: AgentMessage) => boolean;
  /** ComfyUI's model files now (`ComfyClient.inventory`; it rescans a folder that changed). */
  readInventory: () => Promise<ModelInventory>;
  /** The edge was sent this inventory (`InventoryRefresh.known`), so it is not sent again. */
  told: (inventory: ModelInventory) => void;
  /** The inventory changed but could not be read: have it sent when it can be (`InventoryRefresh.refresh`). */
  retell: (reason: string) => void;
  /** Why no fetch may start now (draining, ComfyUI unreachable), or null. */
  refusal: () => string | null;
  /** `folder/name` of the models the held jobs use. */
  inUse: () => Iterable<string>;
  /** The rig's Hugging Face token (from its own env), or null. */
  token: string | null;
  /** @defaultValue an undici transport honouring HTTP(S)_PROXY */
  transport?: Transport;
  /** @defaultValue 1000 */
  progressIntervalMs?: number;
  /** @defaultValue 3 */
  attempts?: number;
  /** @defaultValue 1000 */
  retryDelayMs?: number;
  log: Logger;
};

/** Results kept for the next connection; older ones are dropped (the edge gave up on them by then). */
const MAX_UNSENT = 100;

type Running = { ids: string[]; startedAt: number; done: Promise<void> };

/**
 * The edge's `fetch` messages: one download per model at a time (a second `fetch` for a model on
 * its way joins it, and every fetch id gets the one result), `fetch_progress` at most once per
 * interval, then `fetch_result` with the rig's new inventory and model store. Results the edge
 * could not be sent are kept for the next connection (`resend`).
 *
 * @example
 * const fetches = new ModelFetches({ store, send, readInventory: () => comfy.inventory(), told, retell, refusal, inUse, token, log });
 * fetches.handle(fetchMessage);
 */
export class ModelFetches {
  readonly #deps: ModelFetchesDeps;
  readonly #running = new Map<string, Running>();
  readonly #abort = new AbortController();
  readonly #unsent: FetchResult[] = [];
  readonly #transport: Transport;
  readonly #closeTransport: () => Promise<void>;

  constructor(deps: ModelFetchesDeps) {
    this.#deps = deps;
    if (deps.transport) {
      this.#transport = deps.transport;
      this.#closeTransport = async () => {};
    } else {
      const own = undiciTransport();
      this.#transport = own;
      this.#closeTransport = own.close;
    }
  }

  /** Models being fetched now (`folder/name`). */
  active(): string[] {
    return [...this.#running.keys()];
  }

  handle(fetch: FetchMessage): void {
    const log = this.#deps.log.child({ fetch_id: fetch.fetch_id, model: modelKey(fetch.model) });
    const refusal = this.#deps.store === null ? "this agent has no models folder (set --models-dir or --comfy-dir)" : this.#deps.refusal();
    if (refusal !== null || this.#abort.signal.aborted) {
      const message = refusal ?? "the agent is shutting down";
      log.warn({ reason: message }, "model fetch refused");
      void this.#finish([fetch.fetch_id], Date.now(), { ok: false, code: "refused", message }, fetch);
      return;
    }
    const key = modelKey(fetch.model);
    const running = this.#running.get(key);
    if (running) {
      if (!running.ids.includes(fetch.fetch_id)) running.ids.push(fetch.fetch_id);
      log.info("this model is being fetched already; joined that fetch");
      return;
    }
    const entry: Running = { ids: [fetch.fetch_id], startedAt: Date.now(), done: Promise.resolve() };
    this.#running.set(key, entry);
    log.info({ url: fetch.url, bytes: fetch.bytes }, "fetching a model");
    entry.done = this.#run(entry, fetch, log).finally(() => this.#running.delete(key));
  }

  /** After a reconnect: results the edge was not sent go now. */
  resend(): void {
    for (const result of this.#unsent.splice(0)) if (!this.#deps.send(result)) this.#keep(result);
  }

  #keep(result: FetchResult): void {
    this.#unsent.push(result);
    if (this.#unsent.length > MAX_UNSENT) this.#unsent.shift();
  }

  /** Stops every fetch (unanswered: the edge loses them with the socket) and waits for them to end. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.all([...this.#running.values()].map((r) => r.done));
    await this.#closeTransport();
  }

  async #run(entry: Running, fetch: FetchMessage, log: Logger): Promise<void> {
    const store = this.#deps.store as ModelStore;
    const progress = new Throttle<{ bytes: number; total: number | null }>(this.#deps.progressIntervalMs ?? 1_000, ({ bytes, total }) => {
      for (const fetch_id of entry.ids) this.#deps.send({ type: "fetch_progress", fetch_id, bytes, total });
    });
    let result: DownloadResult;
    try {
      result = await fetchModel(store, fetch, {
        transport: this.#transport,
        token: this.#deps.token,
        attempts: this.#deps.attempts ?? 3,
        retryDelayMs: this.#deps.retryDelayMs ?? 1_000,
        signal: this.#abort.signal,
        inUse: this.#deps.inUse,
        progress: (bytes, total) => progress.push({ bytes, total }),
        evicted: (keys) => this.#tellEvicted(keys, log),
        retrying: (info) => log.warn(info, "model download failed; retrying"),
      });
    } catch (e) {
      result = { ok: false, code: "download_failed", message: `could not fetch: ${String(e)}`.slice(0, 1024) };
    } finally {
      progress.close();
    }
    if (result.ok) log.info({ bytes: result.bytes, ms: Date.now() - entry.startedAt }, "model fetched and verified");
    else log.warn({ code: result.code, error: result.message }, "model fetch failed");
    // Stopped because the agent stops: no answer, so the edge counts the fetch as lost with the
    // socket (not a failure of the model: another agent, or this one back, may fetch it).
    if (!result.ok && this.#abort.signal.aborted) return;
    await this.#finish(entry.ids, entry.startedAt, result, fetch);
  }

  async #finish(ids: readonly string[], startedAt: number, result: DownloadResult, fetch: FetchMessage): Promise<void> {
    const store = this.#deps.store;
    const inventory = result.ok ? await this.#readInventory("a model was fetched") : undefined;
    if (inventory && !inventoryHas(inventory, fetch.model)) {
      this.#deps.log.warn({ model: modelKey(fetch.model) }, "ComfyUI does not list the fetched model (is that folder one of its model paths?)");
    }
    const model_store = store ? await store.facts() : null;
    const ms = Date.now() - startedAt;
    for (const fetch_id of ids) {
      const message: FetchResult = result.ok
        ? { type: "fetch_result", fetch_id, ok: true, bytes: result.bytes, ms, ...(inventory ? { inventory } : {}), model_store }
        : { type: "fetch_result", fetch_id, ok: false, error: { code: result.code, message: result.message }, ms, model_store };
      if (!this.#deps.send(message)) this.#keep(message);
    }
    if (inventory) this.#deps.told(inventory);
  }

  /** After an eviction: the edge gets the new inventory and store at once, so no job is routed to what went. */
  async #tellEvicted(keys: string[], log: Logger): Promise<void> {
    log.info({ evicted: keys }, "evicted fetched models to make room");
    const inventory = await this.#readInventory("fetched models were evicted");
    if (!inventory) return;
    const model_store = await (this.#deps.store as ModelStore).facts();
    if (this.#deps.send({ type: "inventory", inventory, model_store })) this.#deps.told(inventory);
    else this.#deps.retell("fetched models were evicted");
  }

  async #readInventory(reason: string): Promise<ModelInventory | undefined> {
    try {
      return await this.#deps.readInventory();
    } catch (e) {
      this.#deps.log.warn({ err: String(e) }, "could not read ComfyUI's model files; the edge hears of the change later");
      this.#deps.retell(reason);
      return undefined;
    }
  }
}

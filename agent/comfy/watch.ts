import type { Logger } from "pino";
import type { ComfyClient } from "./client.ts";
import type { ComfyEventHub, PromptListener } from "./event-hub.ts";
import type { EventSocket } from "./events.ts";
import type { ComfyEvent, ExecutionErrorData } from "./schemas.ts";

export type RunProgress = { phase: "queued" | "running"; value: number; max: number; node: string | null; step_name: string | null };

export type WatchHooks = {
  onProgress?: (progress: RunProgress) => void;
  /** Something a waiting run should look at happened. */
  onChange: () => void;
  log?: Logger;
  /** The agent's shared socket; without it the watch opens a socket of its own. */
  events?: ComfyEventHub;
};

/**
 * What ComfyUI's socket says about one prompt: whether it started, finished, failed or
 * was interrupted, and its progress. Only events for this prompt count (a status
 * broadcast or another prompt's event is ignored). The socket may drop; `reopen()`
 * brings it back with the same client id, and `missedEvents` says a look at `/history`
 * is due.
 */
export class PromptWatch {
  running = false;
  startedAt: number | null = null;
  /** `execution_success`, or `executing {node: null}`, was seen. */
  finished = false;
  error: ExecutionErrorData | null = null;
  interrupted: { node_id?: string; node_type?: string } | null = null;
  socketDown = false;
  missedEvents = false;
  /** `execution_success` itself was seen (not only the final `executing {node: null}`). */
  #succeeded = false;
  /** The socket dropped at some point: events may be missing, only `/history` is whole. */
  #gap = false;
  /** A node actually ran (`executing` it): a run served wholly from ComfyUI's cache has none. */
  #ranANode = false;
  /** `executed` outputs by node, as history will record them. */
  readonly #outputs: Record<string, Record<string, unknown>> = {};
  readonly #comfy: ComfyClient;
  readonly #clientId: string;
  readonly #promptId: string;
  readonly #graph: Record<string, unknown>;
  readonly #hooks: WatchHooks;
  #socket: EventSocket | null = null;
  #unsubscribe: (() => void) | null = null;
  #currentNode: string | null = null;
  #steps: { value: number; max: number } | null = null;
  #closed = false;

  constructor(comfy: ComfyClient, ids: { clientId: string; promptId: string }, graph: Record<string, unknown>, hooks: WatchHooks) {
    this.#comfy = comfy;
    this.#clientId = ids.clientId;
    this.#promptId = ids.promptId;
    this.#graph = graph;
    this.#hooks = hooks;
  }

  /** Opens the socket; resolves once it is open. @throws ComfyError `comfyui_unavailable` */
  async open(): Promise<void> {
    const listener: PromptListener = {
      onEvent: (e) => this.#onEvent(e),
      onClose: (why) => {
        this.#hooks.log?.debug({ prompt_id: this.#promptId, why }, "ComfyUI socket closed; polling /history");
        this.#socket = null;
        this.socketDown = true;
        this.#gap = true;
        this.#hooks.onChange();
      },
    };
    const hub = this.#hooks.events;
    if (hub) {
      this.#unsubscribe?.();
      this.#unsubscribe = await hub.subscribe(this.#promptId, listener);
      if (this.#closed) this.close();
      return;
    }
    this.#socket = await this.#comfy.openEvents(this.#clientId, listener);
    if (this.#closed) this.#socket.close();
  }

  /** Tries once to bring a dropped socket back. */
  async reopen(): Promise<void> {
    try {
      await this.open();
      this.socketDown = false;
      this.missedEvents = true;
      this.#gap = true;
      this.#hooks.onChange();
    } catch {
      // Still down; the caller keeps polling.
    }
  }

  /** The last sampler-style progress of this prompt, if any, else the given value. */
  #stepsOr(value: number, max: number): { value: number; max: number } {
    return this.#steps ?? { value, max };
  }

  markRunning(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.#hooks.onProgress?.({ phase: "running", value: 0, max: 1, node: null, step_name: null });
    this.#hooks.onChange();
  }

  close(): void {
    this.#closed = true;
    this.#socket?.close();
    this.#socket = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #onEvent(event: ComfyEvent): void {
    if (event.type === "status") return;
    const promptId = "prompt_id" in event.data ? event.data.prompt_id : undefined;
    if (promptId !== undefined && promptId !== this.#promptId) return;
    const onProgress = this.#hooks.onProgress;
    switch (event.type) {
      case "execution_start":
      case "execution_cached":
        this.markRunning();
        return;
      case "executing": {
        const node = event.data.node;
        // Without a prompt id it is ComfyUI replaying its current node to a reconnected socket.
        if (node === null) {
          if (promptId !== undefined || this.running) this.#finish();
          return;
        }
        this.markRunning();
        this.#ranANode = true;
        this.#currentNode = node;
        onProgress?.({ phase: "running", ...this.#stepsOr(0, 1), node, step_name: this.#stepName(node) });
        return;
      }
      case "progress": {
        this.markRunning();
        const node = event.data.node ?? this.#currentNode;
        // Multi-step progress (a sampler's steps) is the headline; a node's single "0 of 1" does not reset it.
        if (event.data.max > 1) this.#steps = { value: event.data.value, max: event.data.max };
        onProgress?.({ phase: "running", ...this.#stepsOr(event.data.value, event.data.max), node, step_name: node ? this.#stepName(node) : null });
        return;
      }
      case "execution_success":
        this.#succeeded = true;
        this.#finish();
        return;
      case "execution_error":
        this.error = event.data;
        this.#hooks.onChange();
        return;
      case "execution_interrupted": {
        const { node_id, node_type } = event.data;
        this.interrupted = { ...(node_id ? { node_id } : {}), ...(node_type ? { node_type } : {}) };
        this.#hooks.onChange();
        return;
      }
      case "executed": {
        const output = event.data.output;
        if (typeof output === "object" && output !== null && !Array.isArray(output)) this.#outputs[event.data.node] = output as Record<string, unknown>;
        return;
      }
    }
  }

  /**
   * The outputs the socket reported, when they are known to be complete: the prompt succeeded,
   * the socket never dropped, and it was not served wholly from ComfyUI's cache (some builds
   * of 2024 sent no `executed` for cached output nodes; an output node is only cached when
   * its whole upstream is). ComfyUI sends `executed` for every node with outputs, with what
   * history records, so such a run needs no `GET /history`.
   */
  reportedOutputs(): Record<string, Record<string, unknown>> | null {
    return this.#succeeded && !this.#gap && !this.socketDown && this.#ranANode ? this.#outputs : null;
  }

  #finish(): void {
    this.finished = true;
    this.#hooks.onChange();
  }

  /** The node's title (`_meta.title`) or else its class. */
  #stepName(nodeId: string): string | null {
    const node = this.#graph[nodeId] as { class_type?: unknown; _meta?: { title?: unknown } } | undefined;
    const title = node?._meta?.title;
    if (typeof title === "string" && title) return title.slice(0, 256);
    return typeof node?.class_type === "string" ? node.class_type.slice(0, 256) : null;
  }
}

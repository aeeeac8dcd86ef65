import type { ComfyPreview } from "./preview-frame.ts";
import type { Logger } from "pino";
import type { ComfyClient } from "./client.ts";
import type { ComfyEventHub, PromptListener } from "./event-hub.ts";
import type { EventSocket } from "./events.ts";
import { ProgressMeter } from "./progress-meter.ts";
import { ProgressStateSchema, type ComfyEvent, type ExecutionErrorData } from "./schemas.ts";

/**
 * How long the latest `progress_state` waits before it is parsed. ComfyUI sends one per node
 * start, step and finish, each the prompt's whole picture: only the last of a burst counts,
 * and a short prompt ends before any needs parsing.
 */
const STATE_SETTLE_MS = 50;

/**
 * `percent`: the prompt's progress, 0..100, never lower than before (see ProgressMeter).
 * `value`/`max` count `unit`: the running node's steps when it reports several (a sampler), else nodes done of all.
 */
export type RunProgress = {
  phase: "queued" | "running";
  value: number;
  max: number;
  unit: "steps" | "nodes";
  percent: number;
  node: string | null;
  step_name: string | null;
};

export type WatchHooks = {
  onProgress?: (progress: RunProgress) => void;
  onPreview?: (preview: ComfyPreview) => void;
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
  #promptId: string;
  /** Own-socket mode: events of other prompt ids seen before `adopt` (ComfyUI may use an id of its own). */
  #unclaimed: ComfyEvent[] | null = [];
  readonly #graph: Record<string, unknown>;
  readonly #hooks: WatchHooks;
  #socket: EventSocket | null = null;
  #unsubscribe: (() => void) | null = null;
  #currentNode: string | null = null;
  /** The current node's own steps, when it reports more than one. */
  #steps: { node: string; value: number; max: number } | null = null;
  readonly #meter: ProgressMeter;
  /** The latest `progress_state` of this prompt, unparsed, and the timer that will parse it. */
  #stateText: string | null = null;
  #stateTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(comfy: ComfyClient, ids: { clientId: string; promptId: string }, graph: Record<string, unknown>, hooks: WatchHooks) {
    this.#comfy = comfy;
    this.#clientId = ids.clientId;
    this.#promptId = ids.promptId;
    this.#graph = graph;
    this.#hooks = hooks;
    this.#meter = new ProgressMeter(Object.keys(graph));
  }

  /** How far the prompt is, 0..100 (never lower than before). */
  get percent(): number {
    return this.#meter.percent;
  }

  /** Opens the socket; resolves once it is open. @throws ComfyError `comfyui_unavailable` */
  async open(): Promise<void> {
    const listener: PromptListener = {
      onEvent: (e) => this.#onEvent(e),
      onState: (text) => this.#stashState(text),
      ...(this.#hooks.onPreview ? { onPreview: this.#hooks.onPreview } : {}),
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

  /**
   * Follows `promptId` from now on: the id ComfyUI's `POST /prompt` answered with, which wins
   * over the one asked for. Events it already sent under that id are replayed.
   */
  adopt(promptId: string): void {
    const unclaimed = this.#unclaimed ?? [];
    this.#unclaimed = null;
    const from = this.#promptId;
    this.#promptId = promptId;
    const hub = this.#hooks.events;
    if (hub && this.#unsubscribe) {
      this.#unsubscribe = hub.adopt(from, promptId);
      return;
    }
    if (promptId === from) return;
    for (const event of unclaimed) this.#onEvent(event);
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

  /** The running node's steps if it counts several, else nodes done of all. */
  #counter(node: string | null): { value: number; max: number; unit: "steps" | "nodes" } {
    if (this.#steps && this.#steps.node === node) return { value: this.#steps.value, max: this.#steps.max, unit: "steps" };
    return { value: this.#meter.nodesDone, max: Math.max(1, this.#meter.nodeCount), unit: "nodes" };
  }

  #report(node: string | null): void {
    this.#hooks.onProgress?.({ phase: "running", ...this.#counter(node), percent: this.#meter.percent, node, step_name: node ? this.#stepName(node) : null });
  }

  markRunning(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = Date.now();
    this.#hooks.onProgress?.({ phase: "running", ...this.#counter(null), percent: this.#meter.percent, node: null, step_name: null });
    this.#hooks.onChange();
  }

  close(): void {
    this.#closed = true;
    this.#dropState();
    this.#socket?.close();
    this.#socket = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #stashState(text: string): void {
    this.#stateText = text;
    if (this.#stateTimer === null && !this.finished) {
      this.#stateTimer = setTimeout(() => this.#applyState(), STATE_SETTLE_MS);
      this.#stateTimer.unref();
    }
  }

  #applyState(): void {
    const text = this.#stateText;
    this.#dropState();
    if (text === null || this.finished || this.#closed) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const parsed = ProgressStateSchema.safeParse(json);
    if (parsed.success) this.#onEvent(parsed.data);
  }

  #dropState(): void {
    if (this.#stateTimer !== null) clearTimeout(this.#stateTimer);
    this.#stateTimer = null;
    this.#stateText = null;
  }

  #onEvent(event: ComfyEvent): void {
    if (event.type === "status") return;
    const promptId = "prompt_id" in event.data ? event.data.prompt_id : undefined;
    if (promptId !== undefined && promptId !== this.#promptId) {
      if (this.#unclaimed && this.#unclaimed.length < 256) this.#unclaimed.push(event);
      return;
    }
    switch (event.type) {
      case "execution_start":
        this.markRunning();
        return;
      case "execution_cached":
        this.#meter.cached(event.data.nodes);
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
        this.#meter.executing(node, this.#currentNode);
        this.#currentNode = node;
        this.#report(node);
        return;
      }
      case "progress": {
        this.markRunning();
        const node = event.data.node ?? this.#currentNode;
        if (node !== null) {
          this.#meter.steps(node, event.data.value, event.data.max);
          if (event.data.max > 1) this.#steps = { node, value: event.data.value, max: event.data.max };
        }
        this.#report(node);
        return;
      }
      case "progress_state": {
        const before = this.#meter.percent;
        this.#meter.states(event.data.nodes);
        const current = this.#currentNode === null ? undefined : event.data.nodes[this.#currentNode];
        // A snapshot may be older than the last `progress`: steps never go back.
        if (current && current.state === "running" && current.max > 1 && !(this.#steps?.node === this.#currentNode && this.#steps.value > current.value)) {
          this.#steps = { node: this.#currentNode as string, value: current.value, max: current.max };
        }
        // Only news is worth a message: most snapshots repeat what `progress`/`executing` said.
        if (this.#meter.percent > before) this.#report(this.#currentNode);
        return;
      }
      case "execution_success": {
        // A pending snapshot (its last node finished) is not worth parsing now: success says as much.
        const before = this.#meter.percent;
        this.#meter.settle();
        if (this.#meter.percent > before) this.#report(this.#currentNode);
        this.#succeeded = true;
        this.#finish();
        return;
      }
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
    this.#dropState();
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

import { randomUUID } from "node:crypto";
import type { ComfyClient } from "./client.ts";
import { ComfyError } from "./errors.ts";
import type { EventSocket } from "./events.ts";
import type { ComfyEvent } from "./schemas.ts";

export type PromptListener = {
  onEvent: (event: ComfyEvent) => void;
  /** The shared socket dropped; events may have been missed. */
  onClose: (reason: string) => void;
};

/** The event types a prompt's run acts on; anything else (status, progress_state, custom) is dropped unparsed. */
const ROUTED = new Set(["execution_start", "execution_cached", "executing", "executed", "progress", "execution_success", "execution_error", "execution_interrupted"]);
const ENDS = new Set(["execution_success", "execution_error", "execution_interrupted"]);

/**
 * One long-lived ComfyUI socket (one client id) for all of an agent's prompts, its events
 * routed to each prompt's listener by `prompt_id`. `ready()` opens it (or reopens it after a
 * drop); submit a prompt only after it resolves, so a fast prompt cannot finish unseen.
 *
 * @example
 * const hub = new ComfyEventHub(comfy);
 * const unsubscribe = await hub.subscribe(promptId, { onEvent, onClose });
 * await comfy.submit(graph, hub.clientId, promptId);
 */
export class ComfyEventHub {
  readonly clientId: string;
  readonly #comfy: ComfyClient;
  readonly #listeners = new Map<string, PromptListener>();
  #socket: EventSocket | null = null;
  #opening: Promise<void> | null = null;
  /** The prompt ComfyUI last said it started: events without a prompt id (a replay after reconnect) are its. */
  #current: string | null = null;
  #closed = false;

  constructor(comfy: ComfyClient, clientId: string = randomUUID()) {
    this.#comfy = comfy;
    this.clientId = clientId;
  }

  get isOpen(): boolean {
    return this.#socket?.isOpen ?? false;
  }

  /** Resolves once the socket is open, opening it if needed. @throws ComfyError `comfyui_unavailable` */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ComfyError("comfyui_unavailable", "the ComfyUI socket is closed: the agent is stopping"));
    if (this.#socket?.isOpen) return Promise.resolve();
    this.#opening ??= this.#open().finally(() => {
      this.#opening = null;
    });
    return this.#opening;
  }

  /**
   * Routes `promptId`'s events to `listener` (registered before the socket is awaited, so
   * nothing sent after `ready()` is missed); returns the unsubscribe function.
   * @throws ComfyError `comfyui_unavailable` (the listener is then removed)
   */
  async subscribe(promptId: string, listener: PromptListener): Promise<() => void> {
    this.#listeners.set(promptId, listener);
    const unsubscribe = () => {
      if (this.#listeners.get(promptId) === listener) this.#listeners.delete(promptId);
      if (this.#current === promptId) this.#current = null;
    };
    try {
      await this.ready();
    } catch (e) {
      unsubscribe();
      throw e;
    }
    return unsubscribe;
  }

  /** Closes the socket for good (the agent is stopping). */
  close(): void {
    this.#closed = true;
    this.#socket?.close();
    this.#socket = null;
  }

  async #open(): Promise<void> {
    const socket = await this.#comfy.openEvents(this.clientId, {
      wanted: ROUTED,
      accept: (type, data) => this.#accept(type, data),
      onEvent: (event) => this.#route(event),
      onClose: (why) => {
        if (this.#socket === socket) this.#socket = null;
        for (const listener of [...this.#listeners.values()]) listener.onClose(why);
      },
    });
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
  }

  /** Decides before any schema parse whether a frame concerns a subscribed prompt. */
  #accept(type: string, data: Record<string, unknown> | null): boolean {
    if (!ROUTED.has(type)) return false;
    if (type === "execution_start") return true;
    const promptId = data?.prompt_id;
    if (typeof promptId !== "string") return this.#current !== null;
    return this.#listeners.has(promptId) || promptId === this.#current;
  }

  #route(event: ComfyEvent): void {
    const data = event.data as { prompt_id?: string };
    const promptId = data.prompt_id ?? this.#current;
    if (promptId === null) return;
    if (event.type === "execution_start") this.#current = promptId;
    else if (ENDS.has(event.type) && this.#current === promptId) this.#current = null;
    this.#listeners.get(promptId)?.onEvent(event);
  }
}

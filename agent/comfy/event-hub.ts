import type { ComfyPreview } from "./preview-frame.ts";
import { randomUUID } from "node:crypto";
import type { ComfyClient } from "./client.ts";
import { ComfyError } from "./errors.ts";
import type { EventSocket } from "./events.ts";
import type { ComfyEvent } from "./schemas.ts";

export type PromptListener = {
  onEvent: (event: ComfyEvent) => void;
  /** A live preview of this prompt (a frame without a prompt id goes to the prompt running now). */
  onPreview?: (preview: ComfyPreview) => void;
  /**
   * This prompt's `progress_state` frames, unparsed. Each is the prompt's whole picture, so a
   * listener may keep the latest and parse it when it needs it; without this they come parsed
   * through `onEvent`.
   */
  onState?: (text: string) => void;
  /** The shared socket dropped; events may have been missed. */
  onClose: (reason: string) => void;
};

/** The event types a prompt's run acts on; anything else (status, custom) is dropped unparsed. */
const ROUTED = new Set(["execution_start", "execution_cached", "executing", "executed", "progress", "progress_state", "execution_success", "execution_error", "execution_interrupted"]);
/** `progress_state` as ComfyUI writes it: `{"type": "progress_state", "data": {"prompt_id": "<id>", "nodes": ...`. */
const LEADING_PROMPT_ID = /^\{"type": ?"progress_state", ?"data": ?\{"prompt_id": ?"([^"\\]{1,128})"/;
const ENDS = new Set(["execution_success", "execution_error", "execution_interrupted"]);
const MAX_ORPHANS = 256;
const ORPHAN_MS = 60_000;

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
  /**
   * Recent events of prompts no one listens to: a ComfyUI that assigns its own prompt ids may
   * start the prompt before `POST /prompt` answers with the id; `adopt` replays them.
   */
  #orphans: { at: number; promptId: string; event: ComfyEvent }[] = [];
  /** Subscribed prompts whose `POST /prompt` has not answered: while there are any, unknown ids may be theirs. */
  readonly #unanswered = new Set<string>();
  #closed = false;
  /** Called when the socket drops (ComfyUI may have died): a hint to look at ComfyUI now. */
  onDrop: ((reason: string) => void) | null = null;

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
    this.#unanswered.add(promptId);
    const unsubscribe = this.#unsubscriber(promptId, listener);
    try {
      await this.ready();
    } catch (e) {
      unsubscribe();
      throw e;
    }
    return unsubscribe;
  }

  /**
   * `POST /prompt` answered for `from` with `to`: moves `from`'s listener to `to` (when ComfyUI
   * chose its own id) and replays what `to` already sent; returns the new unsubscribe function.
   */
  adopt(from: string, to: string): () => void {
    this.#unanswered.delete(from);
    const listener = this.#listeners.get(from);
    if (from !== to) {
      this.#listeners.delete(from);
      if (this.#current === from) this.#current = to;
    }
    if (!listener) return () => {};
    this.#listeners.set(to, listener);
    const replay = this.#orphans.filter((o) => o.promptId === to);
    this.#orphans = this.#unanswered.size === 0 ? [] : this.#orphans.filter((o) => o.promptId !== to);
    for (const o of replay) listener.onEvent(o.event);
    return this.#unsubscriber(to, listener);
  }

  #unsubscriber(promptId: string, listener: PromptListener): () => void {
    return () => {
      if (this.#listeners.get(promptId) !== listener) return;
      this.#listeners.delete(promptId);
      this.#unanswered.delete(promptId);
      if (this.#current === promptId) this.#current = null;
    };
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
      admit: (type, text) => this.#admit(type, text),
      accept: (type, data) => this.#accept(type, data),
      onEvent: (event) => this.#route(event),
      onPreview: (preview) => {
        const promptId = preview.promptId ?? this.#current;
        if (promptId !== null) this.#listeners.get(promptId)?.onPreview?.(preview);
      },
      onClose: (why) => {
        if (this.#socket === socket) this.#socket = null;
        for (const listener of [...this.#listeners.values()]) listener.onClose(why);
        if (!this.#closed) this.onDrop?.(why);
      },
    });
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
  }

  /**
   * `progress_state` repeats every node of a prompt on every step and goes to every socket:
   * others' are dropped and ours go unparsed to the listener's `onState` (a frame in another
   * key order is parsed and left to `#accept`).
   */
  #admit(type: string, text: string): boolean {
    if (type !== "progress_state") return true;
    const promptId = LEADING_PROMPT_ID.exec(text.slice(0, 240))?.[1];
    if (promptId === undefined) return true;
    const listener = this.#listeners.get(promptId);
    if (!listener?.onState) return listener !== undefined;
    listener.onState(text);
    return false;
  }

  /** Decides before any schema parse whether a frame concerns a subscribed prompt. */
  #accept(type: string, data: Record<string, unknown> | null): boolean {
    if (!ROUTED.has(type)) return false;
    if (type === "execution_start") return true;
    const promptId = data?.prompt_id;
    if (typeof promptId !== "string") return this.#current !== null;
    // Sent to every socket, other clients' prompts included.
    if (type === "progress_state") return this.#listeners.has(promptId);
    // Only this client's prompts reach its socket: an unknown id may be one awaiting `adopt`,
    // else it is an ended prompt's last word (`executing {node: null}` after its success).
    return this.#listeners.has(promptId) || promptId === this.#current || this.#unanswered.size > 0;
  }

  #route(event: ComfyEvent): void {
    const data = event.data as { prompt_id?: string };
    const promptId = data.prompt_id ?? this.#current;
    if (promptId === null) return;
    if (event.type === "execution_start") this.#current = promptId;
    else if (ENDS.has(event.type) && this.#current === promptId) this.#current = null;
    const listener = this.#listeners.get(promptId);
    if (listener) return listener.onEvent(event);
    if (this.#unanswered.size === 0) return;
    const now = Date.now();
    this.#orphans = this.#orphans.filter((o) => now - o.at < ORPHAN_MS).slice(-(MAX_ORPHANS - 1));
    this.#orphans.push({ at: now, promptId, event });
  }
}

import { parsePreviewFrame, type ComfyPreview } from "./preview-frame.ts";
import WebSocket from "ws";
import { ComfyEventSchema, type ComfyEvent } from "./schemas.ts";
import { ComfyError } from "./errors.ts";
import { webSocketProxy } from "../ws-proxy.ts";

export type EventSocketHandlers = {
  onEvent: (event: ComfyEvent) => void;
  /** A binary preview frame; without this handler binary frames are dropped unread. */
  onPreview?: (preview: ComfyPreview) => void;
  /** Called once when the socket is gone (closed by either side, or errored). */
  onClose: (reason: string) => void;
  /** A text frame that is not a known ComfyUI event (custom nodes send their own). */
  onUnknown?: (type: string) => void;
  /** Filters frames by type and raw data before they are schema-checked (false: dropped unparsed). */
  accept?: (type: string, data: Record<string, unknown> | null) => boolean;
  /**
   * Types worth parsing at all. A frame whose text starts the way ComfyUI writes it
   * (`{"type": "<type>", ...`) with a type not listed here is dropped before `JSON.parse`:
   * `progress_state` repeats every node of the prompt on every step.
   */
  wanted?: ReadonlySet<string>;
  /**
   * A second look, still before `JSON.parse`, at a wanted frame whose leading type was read:
   * false drops it (e.g. another client's `progress_state`, which ComfyUI sends to every socket).
   */
  admit?: (type: string, text: string) => boolean;
};

/** The type of a frame as ComfyUI serialises it (`json.dumps({"type": ..., "data": ...})`), else null. */
const LEADING_TYPE = /^\{"type": ?"([a-z_]{1,64})"/;

/**
 * One ComfyUI `/ws?clientId=` connection. Resolves once the socket is open, so a caller
 * can submit its prompt knowing no event for it can be missed. Binary frames (previews)
 * are dropped unread.
 */
export class EventSocket {
  readonly #ws: WebSocket;
  #closed = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  static open(wsUrl: string, handlers: EventSocketHandlers, timeoutMs = 10_000): Promise<EventSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { handshakeTimeout: timeoutMs, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, ...webSocketProxy(wsUrl) });
      const socket = new EventSocket(ws);
      let opened = false;
      ws.on("open", () => {
        opened = true;
        resolve(socket);
      });
      ws.on("message", (data, isBinary) => {
        if (isBinary) {
          if (!handlers.onPreview) return;
          const preview = parsePreviewFrame(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
          if (preview) handlers.onPreview(preview);
          return;
        }
        socket.#dispatch(data.toString(), handlers);
      });
      ws.on("error", (err) => {
        if (!opened) reject(new ComfyError("comfyui_unavailable", `ComfyUI websocket failed: ${err.message}`, { cause: err }));
      });
      ws.on("close", (code) => {
        if (!opened) {
          reject(new ComfyError("comfyui_unavailable", `ComfyUI websocket closed before opening (code ${code})`));
          return;
        }
        if (socket.#closed) return;
        socket.#closed = true;
        handlers.onClose(`closed with code ${code}`);
      });
    });
  }

  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Closes without calling `onClose`: the owner asked for it. */
  close(): void {
    this.#closed = true;
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else this.#ws.close();
  }

  #dispatch(text: string, handlers: EventSocketHandlers): void {
    if (handlers.wanted) {
      const type = LEADING_TYPE.exec(text.slice(0, 80))?.[1];
      if (type !== undefined && !handlers.wanted.has(type)) return;
      if (type !== undefined && handlers.admit && !handlers.admit(type, text)) return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      handlers.onUnknown?.("(not json)");
      return;
    }
    if (handlers.accept) {
      const frame = typeof json === "object" && json !== null ? (json as { type?: unknown; data?: unknown }) : null;
      const data = typeof frame?.data === "object" && frame.data !== null ? (frame.data as Record<string, unknown>) : null;
      if (typeof frame?.type !== "string" || !handlers.accept(frame.type, data)) return;
    }
    const parsed = ComfyEventSchema.safeParse(json);
    if (parsed.success) {
      handlers.onEvent(parsed.data);
      return;
    }
    const type = typeof json === "object" && json !== null ? (json as { type?: unknown }).type : undefined;
    handlers.onUnknown?.(typeof type === "string" ? type : "(no type)");
  }
}

import type { z } from "zod";
import type { ModelInventory } from "../../shared/protocol.ts";
import { ComfyError } from "./errors.ts";
import { EventSocket, type EventSocketHandlers } from "./events.ts";
import { readInventory } from "./inventory.ts";
import {
  HistorySchema,
  PromptAcceptedSchema,
  PromptRejectedSchema,
  QueueSchema,
  SystemStatsSchema,
  UploadedImageSchema,
  type HistoryEntry,
  type SystemStats,
  type UploadedImage,
} from "./schemas.ts";

export type OutputFileRef = { filename: string; subfolder: string; type: string };
/** Ask `/view` to re-encode an image (ComfyUI does it with PIL; the agent carries no image library). */
export type Conversion = { format: "webp" | "jpeg"; quality: number };
export type QueueState = { running: string[]; pending: string[] };

export type ComfyClientOptions = {
  /** Limit for one ordinary request (not for streamed `/view` bodies). */
  requestTimeoutMs?: number;
};

/**
 * ComfyUI's HTTP and WebSocket API, typed. Every failure is a `ComfyError`:
 * `comfyui_unavailable` when ComfyUI cannot be reached, `invalid_prompt` for a 400 from
 * `/prompt`, `comfyui_error` otherwise.
 *
 * @example
 * const comfy = new ComfyClient("http://127.0.0.1:8188");
 * const socket = await comfy.openEvents(clientId, { onEvent, onClose });
 * const { prompt_id } = await comfy.submit(graph, clientId);
 */
export class ComfyClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: ComfyClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /** Opens `/ws?clientId=`; resolves once open (open it before `submit`). */
  openEvents(clientId: string, handlers: EventSocketHandlers): Promise<EventSocket> {
    const url = new URL(`${this.baseUrl}/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("clientId", clientId);
    return EventSocket.open(url.toString(), handlers, this.#timeoutMs);
  }

  /** `POST /prompt`. A 400 throws `invalid_prompt` with `{error, node_errors}` as details. */
  async submit(graph: Record<string, unknown>, clientId: string, promptId?: string): Promise<{ prompt_id: string }> {
    const body = JSON.stringify({ prompt: graph, client_id: clientId, ...(promptId ? { prompt_id: promptId } : {}) });
    const res = await this.#fetch("/prompt", { method: "POST", body, headers: { "content-type": "application/json" } });
    if (res.status === 400) {
      const text = await res.text();
      const rejected = parseJson(text, PromptRejectedSchema);
      const message = rejected?.error.message || `ComfyUI rejected the prompt: ${text.slice(0, 500)}`;
      throw new ComfyError("invalid_prompt", message, {
        status: 400,
        details: rejected ? { error: rejected.error, node_errors: rejected.node_errors } : { body: text.slice(0, 2000) },
      });
    }
    return this.#json(res, PromptAcceptedSchema, "POST /prompt");
  }

  /** `GET /history/{id}`: the entry once the prompt finished (success, error or interrupt), else null. */
  async history(promptId: string): Promise<HistoryEntry | null> {
    const res = await this.#fetch(`/history/${encodeURIComponent(promptId)}`);
    const all = await this.#json(res, HistorySchema, "GET /history");
    return all[promptId] ?? null;
  }

  /** `GET /queue`: prompt ids running and pending. */
  async queue(): Promise<QueueState> {
    const res = await this.#fetch("/queue");
    const q = await this.#json(res, QueueSchema, "GET /queue");
    const ids = (xs: (string | null)[]) => xs.filter((x): x is string => x !== null);
    return { running: ids(q.queue_running), pending: ids(q.queue_pending) };
  }

  /** `POST /interrupt {prompt_id}`: stops that prompt if it is the one running (never a global interrupt). */
  async interrupt(promptId: string): Promise<void> {
    await this.#expectOk(
      await this.#fetch("/interrupt", { method: "POST", body: JSON.stringify({ prompt_id: promptId }), headers: { "content-type": "application/json" } }),
      "POST /interrupt",
    );
  }

  /** `POST /queue {delete}`: removes prompts still pending (a running one is unaffected). */
  async deleteQueued(promptIds: string[]): Promise<void> {
    await this.#expectOk(
      await this.#fetch("/queue", { method: "POST", body: JSON.stringify({ delete: promptIds }), headers: { "content-type": "application/json" } }),
      "POST /queue",
    );
  }

  /**
   * `GET /view` for one output file; the caller streams (and must consume or cancel) the body.
   * With `convert`, ComfyUI re-encodes the image (`preview=webp;90`).
   */
  async view(file: OutputFileRef, convert?: Conversion, signal?: AbortSignal): Promise<Response> {
    const q = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type });
    if (convert) q.set("preview", `${convert.format};${convert.quality}`);
    const res = await this.#fetch(`/view?${q}`, { signal }, null);
    if (!res.ok) {
      await res.body?.cancel();
      throw new ComfyError("comfyui_error", `GET /view ${file.filename}: HTTP ${res.status}`, { status: res.status });
    }
    return res;
  }

  /** `POST /upload/image` (multipart `image`, `overwrite=true`); returns the name to put in the graph. */
  async uploadImage(image: Blob, filename: string, signal?: AbortSignal): Promise<UploadedImage> {
    const form = new FormData();
    form.append("image", image, filename);
    form.append("overwrite", "true");
    form.append("type", "input");
    const res = await this.#fetch("/upload/image", { method: "POST", body: form, signal }, null);
    return this.#json(res, UploadedImageSchema, "POST /upload/image");
  }

  /** `GET /system_stats`. */
  async systemStats(signal?: AbortSignal): Promise<SystemStats> {
    const res = await this.#fetch("/system_stats", { signal });
    return this.#json(res, SystemStatsSchema, "GET /system_stats");
  }

  /** Model files by folder, from `/models` (or `/object_info` loader choices on older builds). */
  inventory(): Promise<ModelInventory> {
    return readInventory((path) => this.getJson(path));
  }

  /** A GET returning parsed JSON, or null for a 404 (used for optional endpoints). */
  async getJson(path: string): Promise<unknown> {
    const res = await this.#fetch(path);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    await this.#expectOk(res, `GET ${path}`, false);
    return parseBody(await res.text(), `GET ${path}`);
  }

  async #fetch(path: string, init: RequestInit = {}, timeoutMs: number | null = this.#timeoutMs): Promise<Response> {
    const signals = [init.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)].filter(
      (s): s is AbortSignal => s != null,
    );
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, signal: signals.length ? AbortSignal.any(signals) : null });
    } catch (e) {
      if (init.signal?.aborted) throw init.signal.reason;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new ComfyError("comfyui_unavailable", `ComfyUI at ${this.baseUrl} is unreachable (${path}): ${why}`, { cause: e });
    }
  }

  async #expectOk(res: Response, what: string, drain = true): Promise<void> {
    if (res.ok) {
      if (drain) await res.body?.cancel();
      return;
    }
    const text = await res.text().catch(() => "");
    throw new ComfyError("comfyui_error", `${what}: HTTP ${res.status} ${text.slice(0, 300)}`, {
      status: res.status,
    });
  }

  async #json<S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.infer<S>> {
    await this.#expectOk(res, what, false);
    const body = parseBody(await res.text(), what);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new ComfyError("comfyui_error", `${what}: unexpected body: ${parsed.error.message.slice(0, 300)}`);
    return parsed.data;
  }
}

function parseBody(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ComfyError("comfyui_error", `${what}: body is not JSON: ${text.slice(0, 200)}`);
  }
}

function parseJson<S extends z.ZodType>(text: string, schema: S): z.infer<S> | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

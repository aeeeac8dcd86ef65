import type { Readable } from "node:stream";
import type { z } from "zod";
import type { ModelInventory, NodeCatalog } from "../../shared/protocol.ts";
import { ComfyError } from "./errors.ts";
import { EventSocket, type EventSocketHandlers } from "./events.ts";
import { ComfyHttp, type TextReply } from "./http.ts";
import { readInventory } from "./inventory.ts";
import { NotAJsonObject, topLevelKeys } from "./json-keys.ts";
import { MAX_CLASS_NAME, MAX_CLASSES, nodeCatalog } from "./node-catalog.ts";
import { multipartFile } from "./multipart.ts";
import {
  HistorySchema,
  PromptAcceptedSchema,
  PromptRejectedSchema,
  QueueEntriesSchema,
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
/** A queued prompt with the `extra_data` (client_id included) it was submitted with. */
export type QueueEntry = { prompt_id: string; extra_data: Record<string, unknown> };

/** One `/view` file. The caller must read `body` to the end or destroy it (its keep-alive socket waits on it). */
export type ViewedFile = {
  body: Readable;
  /** Content-Length as ComfyUI sent it, null when absent. */
  bytes: number | null;
  /** The Content-Type header as sent (parameters included), null when absent. */
  contentType: string | null;
};

export type ComfyClientOptions = {
  /** Limit for one ordinary request (for `/view`: until its headers; its body has none). @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** Keep-alive connections to ComfyUI open at once (see ComfyHttpOptions). @defaultValue Infinity */
  maxSockets?: number;
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
 * comfy.close();
 */
export class ComfyClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #http: ComfyHttp;

  constructor(baseUrl: string, opts: ComfyClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#http = new ComfyHttp(this.baseUrl, { timeoutMs: this.#timeoutMs, ...(opts.maxSockets ? { maxSockets: opts.maxSockets } : {}) });
  }

  /** Destroys the keep-alive connections (requests in flight fail as `comfyui_unavailable`). */
  close(): void {
    this.#http.close();
  }

  /** Opens `/ws?clientId=`; resolves once open (open it before `submit`). */
  openEvents(clientId: string, handlers: EventSocketHandlers): Promise<EventSocket> {
    const url = new URL(`${this.baseUrl}/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("clientId", clientId);
    return EventSocket.open(url.toString(), handlers, this.#timeoutMs);
  }

  /**
   * `POST /prompt`. A 400 throws `invalid_prompt` with `{error, node_errors}` as details. The
   * answer's `prompt_id` is the one to use: a ComfyUI (or proxy) may not honour `promptId`.
   */
  async submit(graph: Record<string, unknown>, clientId: string, promptId?: string, extraData?: Record<string, unknown>): Promise<{ prompt_id: string }> {
    const body = JSON.stringify({ prompt: graph, client_id: clientId, ...(promptId ? { prompt_id: promptId } : {}), ...(extraData ? { extra_data: extraData } : {}) });
    const res = await this.#http.text({ method: "POST", path: "/prompt", body, headers: JSON_HEADERS });
    if (res.status === 400) {
      const text = res.text;
      const rejected = parseJson(text, PromptRejectedSchema);
      const message = rejected?.error.message || `ComfyUI rejected the prompt: ${text.slice(0, 500)}`;
      throw new ComfyError("invalid_prompt", message, {
        status: 400,
        details: rejected ? { error: rejected.error, node_errors: rejected.node_errors } : { body: text.slice(0, 2000) },
      });
    }
    return parseReply(res, PromptAcceptedSchema, "POST /prompt");
  }

  /** `GET /history/{id}`: the entry once the prompt finished (success, error or interrupt), else null. */
  async history(promptId: string): Promise<HistoryEntry | null> {
    const res = await this.#http.text({ path: `/history/${encodeURIComponent(promptId)}` });
    const all = parseReply(res, HistorySchema, "GET /history");
    return all[promptId] ?? null;
  }

  /** `GET /queue`: prompt ids running and pending. */
  async queue(): Promise<QueueState> {
    const res = await this.#http.text({ path: "/queue" });
    const q = parseReply(res, QueueSchema, "GET /queue");
    const ids = (xs: (string | null)[]) => xs.filter((x): x is string => x !== null);
    return { running: ids(q.queue_running), pending: ids(q.queue_pending) };
  }

  /** `GET /queue` with each prompt's `extra_data`, to tell whose prompts they are. */
  async queueEntries(): Promise<{ running: QueueEntry[]; pending: QueueEntry[] }> {
    const res = await this.#http.text({ path: "/queue" });
    const q = parseReply(res, QueueEntriesSchema, "GET /queue");
    const entries = (xs: (QueueEntry | null)[]) => xs.filter((x): x is QueueEntry => x !== null);
    return { running: entries(q.queue_running), pending: entries(q.queue_pending) };
  }

  /** `POST /interrupt {prompt_id}`: stops that prompt if it is the one running (never a global interrupt). */
  async interrupt(promptId: string): Promise<void> {
    const body = JSON.stringify({ prompt_id: promptId });
    expectOk(await this.#http.text({ method: "POST", path: "/interrupt", body, headers: JSON_HEADERS, idempotent: true }), "POST /interrupt");
  }

  /** `POST /queue {delete}`: removes prompts still pending (a running one is unaffected). */
  async deleteQueued(promptIds: string[]): Promise<void> {
    const body = JSON.stringify({ delete: promptIds });
    expectOk(await this.#http.text({ method: "POST", path: "/queue", body, headers: JSON_HEADERS, idempotent: true }), "POST /queue");
  }

  /**
   * `GET /view` for one output file; the caller streams (and must consume or destroy) the body.
   * With `convert`, ComfyUI re-encodes the image (`preview=webp;90`). `signal` ends the body too.
   */
  async view(file: OutputFileRef, convert?: Conversion, signal?: AbortSignal): Promise<ViewedFile> {
    const q = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type });
    if (convert) q.set("preview", `${convert.format};${convert.quality}`);
    const res = await this.#http.stream({ path: `/view?${q}`, ...(signal ? { signal } : {}) });
    if (!("body" in res)) {
      throw new ComfyError("comfyui_error", `GET /view ${file.filename}: HTTP ${res.status} ${res.text.slice(0, 200)}`.trimEnd(), { status: res.status });
    }
    const length = res.headers["content-length"];
    return {
      body: res.body,
      bytes: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
      contentType: res.headers["content-type"] ?? null,
    };
  }

  /** `POST /upload/image` (multipart `image`, `overwrite=true`); returns the name to put in the graph. */
  async uploadImage(image: Blob, filename: string, signal?: AbortSignal): Promise<UploadedImage> {
    const { body, headers } = multipartFile("image", image, filename, { overwrite: "true", type: "input" });
    const res = await this.#http.text({ method: "POST", path: "/upload/image", body, headers, timeoutMs: null, ...(signal ? { signal } : {}) });
    return parseReply(res, UploadedImageSchema, "POST /upload/image");
  }

  /** `GET /system_stats`. */
  async systemStats(signal?: AbortSignal): Promise<SystemStats> {
    const res = await this.#http.text({ path: "/system_stats", ...(signal ? { signal } : {}) });
    return parseReply(res, SystemStatsSchema, "GET /system_stats");
  }

  /**
   * The node classes ComfyUI offers: the keys of `GET /object_info`, read as the body streams in
   * (it can be megabytes; the node definitions are never built). @throws ComfyError
   */
  async nodeClasses(): Promise<string[]> {
    const signal = AbortSignal.timeout(Math.max(this.#timeoutMs, 60_000));
    let body: Readable | null = null;
    try {
      const res = await this.#http.stream({ path: "/object_info", signal });
      if (!("body" in res)) throw new ComfyError("comfyui_error", `GET /object_info: HTTP ${res.status} ${res.text.slice(0, 200)}`.trimEnd(), { status: res.status });
      body = res.body;
      return await topLevelKeys(body, { maxKeyBytes: MAX_CLASS_NAME * 4, maxKeys: MAX_CLASSES * 2 });
    } catch (e) {
      body?.destroy();
      if (e instanceof ComfyError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      if (e instanceof NotAJsonObject) throw new ComfyError("comfyui_error", `GET /object_info: ${why}`);
      throw new ComfyError("comfyui_unavailable", `GET /object_info: ${signal.aborted ? "timed out" : why}`, { cause: e });
    }
  }

  /** The rig's node catalog: `/object_info`'s class names, their digest, and `/system_stats`' `system.comfyui_version`. */
  async nodeCatalog(): Promise<NodeCatalog> {
    const [classes, stats] = await Promise.all([this.nodeClasses(), this.systemStats()]);
    const version = stats.system.comfyui_version;
    return nodeCatalog(classes, typeof version === "string" && version !== "" ? version : null);
  }

  /** Model files by folder, from `/models` (or `/object_info` loader choices on older builds). */
  inventory(): Promise<ModelInventory> {
    return readInventory((path) => this.getJson(path));
  }

  /** A GET returning parsed JSON, or null for a 404 (used for optional endpoints). */
  async getJson(path: string): Promise<unknown> {
    const res = await this.#http.text({ path });
    if (res.status === 404) return null;
    expectOk(res, `GET ${path}`);
    return parseBody(res.text, `GET ${path}`);
  }
}

const JSON_HEADERS = { "content-type": "application/json" };

function expectOk(res: TextReply, what: string): void {
  if (res.status >= 200 && res.status < 300) return;
  throw new ComfyError("comfyui_error", `${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`, { status: res.status });
}

function parseReply<S extends z.ZodType>(res: TextReply, schema: S, what: string): z.infer<S> {
  expectOk(res, what);
  const body = parseBody(res.text, what);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ComfyError("comfyui_error", `${what}: unexpected body: ${parsed.error.message.slice(0, 300)}`);
  return parsed.data;
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

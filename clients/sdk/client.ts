import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { z } from "zod";
import {
  BatchSubmitResponseSchema, BatchViewSchema, JobListSchema, SubmitBodySchema, SubmitResponseSchema, TaskViewSchema, WorkflowListSchema,
  type BatchSubmitResponse, type BatchView, type JobList, type JobListQuery, type SubmitResponse, type TaskEvent, type TaskView, type WorkflowListing,
} from "../../shared/api.ts";
import { LoraListViewSchema, WorkflowViewSchema, type LoraView, type WorkflowView } from "../../shared/manifest/views.ts";
import { downloadOutputs } from "./download.ts";
import { ComfyEdgeError } from "./errors.ts";
import { Http, type FetchLike } from "./http.ts";
import { waitForTask, type WaitOptions } from "./wait.ts";
import { watchTask, type TaskRef, type WatchDeps, type WatchOptions } from "./watch.ts";

/** What `submit` takes: the `POST /v1/jobs` body, defaults optional. */
export type SubmitInput = z.input<typeof SubmitBodySchema>;

export const UploadResponseSchema = z.object({ upload_id: z.string(), content_type: z.string(), bytes: z.number() });
export type UploadResponse = z.infer<typeof UploadResponseSchema>;

export const IMAGE_CONTENT_TYPES = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp" } as const;
export type ImageContentType = (typeof IMAGE_CONTENT_TYPES)[keyof typeof IMAGE_CONTENT_TYPES];

/** The image type a file name implies, or null for anything the API does not take. */
export function imageContentType(path: string): ImageContentType | null {
  return (IMAGE_CONTENT_TYPES as Record<string, ImageContentType>)[extname(path).toLowerCase()] ?? null;
}

export interface ComfyEdgeClientOptions {
  /** The edge's base URL, e.g. `https://comfy.example.com`. */
  url: string;
  /** A client (or admin) API key, sent as `Authorization: Bearer`. */
  apiKey: string;
  /** @defaultValue globalThis.fetch */
  fetch?: FetchLike;
}

export interface CallOptions {
  signal?: AbortSignal;
}

const TASK_ID = /^[A-Za-z0-9_.-]{1,128}$/;

function taskPath(id: string): string {
  if (!TASK_ID.test(id)) throw new ComfyEdgeError("bad_request", `"${id}" is not a task id (expected something like tsk_xxxxxxxxxxxxxxxxxxxx.default).`, { status: null });
  return `/tasks/${id}`;
}

/**
 * A typed client of the comfy-edge API. Every response is checked against the shared zod
 * schemas; every failure is a `ComfyEdgeError` carrying the server's code and field details.
 *
 * @example
 * const edge = new ComfyEdgeClient({ url: "http://127.0.0.1:8787", apiKey: process.env.COMFY_EDGE_API_KEY! });
 * const job = await edge.submit({ workflow_id: "flux_default", params: { prompt: "a red fox" } });
 * const task = await edge.wait(job, { onProgress: (p) => console.log(`${p.current}/${p.total}`) });
 * if (task.status === "SUCCESS") console.log(await edge.download(task, "./images"));
 *
 * @example A raw ComfyUI graph ("Export (API)"), for keys with `"raw": true`:
 * const task = await edge.run({ graph: JSON.parse(await readFile("prompt.json", "utf8")) });
 */
export class ComfyEdgeClient {
  private readonly http: Http;

  constructor(opts: ComfyEdgeClientOptions) {
    if (!/^https?:\/\/[^/]+/.test(opts.url)) throw new ComfyEdgeError("bad_request", `The URL "${opts.url}" must start with http:// or https://.`);
    if (!opts.apiKey) throw new ComfyEdgeError("unauthorized", "An API key is required.");
    this.http = new Http(opts.url, opts.apiKey, opts.fetch ?? globalThis.fetch.bind(globalThis));
  }

  get url(): string {
    return this.http.baseUrl;
  }

  /** Queues a job (`POST /v1/jobs`); resolves in milliseconds with its id and links. */
  submit(body: SubmitInput, opts: CallOptions & { idempotencyKey?: string } = {}): Promise<SubmitResponse> {
    return this.http.json("POST", "/v1/jobs", SubmitResponseSchema, {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...(opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {}) },
      signal: opts.signal,
    });
  }

  /**
   * Submits with `Prefer: wait=<waitS>` (at most 60): the edge answers with the finished task
   * if the job ends within that time (`finished`), else as `submit` does (`queued`).
   */
  async submitAndWait(
    body: SubmitInput,
    opts: CallOptions & { idempotencyKey?: string; waitS: number },
  ): Promise<{ finished: TaskView; queued?: undefined } | { queued: SubmitResponse; finished?: undefined }> {
    const waitS = Math.max(0, Math.min(60, Math.floor(opts.waitS)));
    const answer = await this.http.jsonWithStatus("POST", "/v1/jobs", (status): z.ZodType<TaskView | SubmitResponse> => (status === 200 ? TaskViewSchema : SubmitResponseSchema), {
      body: JSON.stringify(body),
      headers: {
        "content-type": "application/json",
        ...(waitS > 0 ? { prefer: `wait=${waitS}` } : {}),
        ...(opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {}),
      },
      signal: opts.signal,
    });
    return answer.status === 200 ? { finished: answer.body as TaskView } : { queued: answer.body as SubmitResponse };
  }

  /**
   * Submits and follows the job to its end in the fewest round trips: a short job comes back
   * finished from the submit itself (`Prefer: wait`, `waitS` default 10); a longer one is then
   * followed as `wait` does. `onSubmitted` gets the task id as soon as it is known.
   */
  async run(body: SubmitInput, opts: WaitOptions & { waitS?: number; idempotencyKey?: string; onSubmitted?: (taskId: string) => void } = {}): Promise<TaskView> {
    const { waitS = 10, idempotencyKey, onSubmitted, ...waitOpts } = opts;
    const answer = await this.submitAndWait(body, { waitS, ...(idempotencyKey ? { idempotencyKey } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    if (answer.finished) {
      onSubmitted?.(answer.finished.task_id);
      waitOpts.onState?.(answer.finished);
      if (answer.finished.progress) waitOpts.onProgress?.(answer.finished.progress, answer.finished.task_id);
      return answer.finished;
    }
    onSubmitted?.(answer.queued.task_id);
    return this.wait(answer.queued, waitOpts);
  }

  /** Submits `count` (2-16) jobs with consecutive seeds as one batch; `getBatch`/`cancelBatch` follow it. */
  submitBatch(body: SubmitInput & { count: number }, opts: CallOptions & { idempotencyKey?: string } = {}): Promise<BatchSubmitResponse> {
    return this.http.json("POST", "/v1/jobs", BatchSubmitResponseSchema, {
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", ...(opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {}) },
      signal: opts.signal,
    });
  }

  /** Every job of a batch and its overall state (PENDING, PROGRESS, SUCCESS, FAILURE, CANCELLED, PARTIAL). */
  getBatch(batchId: string, opts: CallOptions = {}): Promise<BatchView> {
    return this.http.json("GET", `/v1/batches/${encodeURIComponent(batchId)}`, BatchViewSchema, { signal: opts.signal });
  }

  /** Cancels every job of a batch that has not ended. */
  cancelBatch(batchId: string, opts: CallOptions = {}): Promise<BatchView> {
    return this.http.json("DELETE", `/v1/batches/${encodeURIComponent(batchId)}`, BatchViewSchema, { signal: opts.signal });
  }

  /** A page of this key's jobs, newest first (`GET /v1/jobs`); pass `next_cursor` back as `cursor` for the next. */
  listJobs(query: JobListQuery = {}, opts: CallOptions = {}): Promise<JobList> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === "string"));
    const qs = params.toString();
    return this.http.json("GET", `/v1/jobs${qs ? `?${qs}` : ""}`, JobListSchema, { signal: opts.signal });
  }

  /** Reads a task: status, progress, fresh signed result links, error. */
  get(taskId: string, opts: CallOptions = {}): Promise<TaskView> {
    return this.http.json("GET", taskPath(taskId), TaskViewSchema, { signal: opts.signal });
  }

  /** Cancels a queued or running task and returns it CANCELLED (`not_cancellable` once it has finished). */
  cancel(taskId: string, opts: CallOptions = {}): Promise<TaskView> {
    return this.http.json("DELETE", taskPath(taskId), TaskViewSchema, { signal: opts.signal });
  }

  async listWorkflows(opts: CallOptions = {}): Promise<WorkflowListing[]> {
    const body = await this.http.json("GET", "/workflows", WorkflowListSchema, { signal: opts.signal });
    return body.workflows;
  }

  getWorkflow(id: string, opts: CallOptions = {}): Promise<WorkflowView> {
    return this.http.json("GET", `/workflows/${encodeURIComponent(id)}`, WorkflowViewSchema, { signal: opts.signal });
  }

  listLoras(opts: CallOptions = {}): Promise<LoraView[]> {
    return this.http.json("GET", "/loras", LoraListViewSchema, { signal: opts.signal });
  }

  /** Uploads an input image (raw body) and returns its `upload_id`, the value for an `image` parameter. */
  uploadImage(data: Uint8Array | ArrayBuffer | Blob, contentType: ImageContentType, opts: CallOptions = {}): Promise<UploadResponse> {
    return this.http.json("POST", "/v1/uploads", UploadResponseSchema, {
      body: data instanceof Blob ? data : new Uint8Array(data),
      headers: { "content-type": contentType },
      signal: opts.signal,
    });
  }

  /** Uploads an image file, its type taken from the extension (.png, .jpg/.jpeg, .webp). */
  async uploadImageFile(path: string, opts: CallOptions = {}): Promise<UploadResponse> {
    const type = imageContentType(path);
    if (!type) throw new ComfyEdgeError("unsupported_media_type", `${path}: use a .png, .jpg, .jpeg or .webp image.`);
    return this.uploadImage(await readFile(path), type, opts);
  }

  /** Every event of the task, from its current state to its terminal state (feed, then polling). */
  events(task: TaskRef, opts: WatchOptions = {}): AsyncGenerator<TaskEvent> {
    return watchTask(this.watchDeps(), task, opts);
  }

  /**
   * Follows a task to SUCCESS, FAILURE or CANCELLED and returns the final view; a failed or
   * cancelled task is returned, not thrown. Uses the events feed, polling if it fails.
   */
  wait(task: TaskRef, opts: WaitOptions = {}): Promise<TaskView> {
    return waitForTask(this.watchDeps(), task, opts);
  }

  /** Saves every output of a SUCCESS task into `dir` under its file name; returns the paths. */
  download(task: TaskView, dir: string, opts: CallOptions = {}): Promise<string[]> {
    return downloadOutputs({ fetch: this.http.fetch, refresh: (id) => this.get(id, opts) }, task, dir, opts.signal);
  }

  private watchDeps(): WatchDeps {
    return {
      baseUrl: this.http.baseUrl,
      fetch: this.http.fetch,
      authHeaders: this.http.authHeaders(),
      get: (id, signal) => this.get(id, signal ? { signal } : {}),
    };
  }
}

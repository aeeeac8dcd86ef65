import { SubmitResponseSchema, TaskViewSchema, type TaskView } from "../shared/api.ts";
import { sleep } from "./random.ts";

export interface QueueGauges {
  byState: Record<string, number>;
  counters: Record<string, number>;
}

/** Whether a failed call may be tried again: the network, a restarting edge, 5xx, 429. */
function transient(status: number | null): boolean {
  return status === null || status === 429 || status >= 500;
}

/**
 * The harness's HTTP client for the edge. Calls are retried through restarts (connection
 * refused, 5xx, 429) until `deadline`; submissions carry an Idempotency-Key, so a retried
 * submit can never create a second job.
 */
export class EdgeClient {
  readonly #url: string;
  readonly #client: string;
  readonly #admin: string;
  /** The key each task was submitted with (a task is visible to its owner only). */
  readonly #ownerOf = new Map<string, string>();
  /** Calls that had to be retried (network errors, 5xx, 429). */
  retries = 0;
  /** 5xx answers seen (a restarting edge may give a few; the report shows them). */
  serverErrors = 0;

  constructor(url: string, keys: { client: string; admin: string }) {
    this.#url = url;
    this.#client = keys.client;
    this.#admin = keys.admin;
  }

  async #call(path: string, init: RequestInit, deadline: number): Promise<Response> {
    for (;;) {
      let res: Response | null = null;
      try {
        res = await fetch(`${this.#url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
      } catch {
        res = null;
      }
      if (res && !transient(res.status)) return res;
      if (res && res.status >= 500) this.serverErrors++;
      await res?.body?.cancel();
      if (Date.now() > deadline) throw new Error(`${init.method ?? "GET"} ${path}: no answer before the deadline (last: ${res ? res.status : "network error"})`);
      this.retries++;
      await sleep(150 + Math.random() * 250);
    }
  }

  /** Submits one job; the same `idemKey` always yields the same task id. */
  async submit(body: unknown, idemKey: string, deadline: number, key = this.#client): Promise<string> {
    const res = await this.#call(
      "/v1/jobs",
      { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": idemKey }, body: JSON.stringify(body) },
      deadline,
    );
    if (res.status !== 202) throw new Error(`submit ${idemKey}: HTTP ${res.status} ${await res.text()}`);
    const taskId = SubmitResponseSchema.parse(await res.json()).task_id;
    if (key !== this.#client) this.#ownerOf.set(taskId, key);
    return taskId;
  }

  /** The task, or null when the edge does not know it (404). */
  async task(id: string, deadline: number): Promise<TaskView | null> {
    const res = await this.#call(`/tasks/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${this.#ownerOf.get(id) ?? this.#client}` } }, deadline);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status !== 200) throw new Error(`GET /tasks/${id}: HTTP ${res.status} ${await res.text()}`);
    return TaskViewSchema.parse(await res.json());
  }

  /** Jobs by state and the queue's counters, from `GET /metrics`. */
  async gauges(deadline: number): Promise<QueueGauges> {
    const res = await this.#call("/metrics", { headers: { authorization: `Bearer ${this.#admin}` } }, deadline);
    return parseMetrics(await res.text());
  }
}

const COUNTERS: Record<string, string> = {
  comfy_edge_jobs_submitted_total: "jobs_submitted",
  comfy_edge_lease_expiries_total: "lease_expiries",
  comfy_edge_retries_total: "retries",
  comfy_edge_stale_messages_total: "stale_messages",
};

/** Reads the few series the harness needs from the Prometheus text (summed over pools). */
export function parseMetrics(text: string): QueueGauges {
  const byState: Record<string, number> = {};
  const counters: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line.trim());
    if (!m) continue;
    const [, name, labels = "", value] = m as unknown as [string, string, string | undefined, string];
    const v = Number(value);
    if (name === "comfy_edge_jobs") {
      const state = /state="([^"]+)"/.exec(labels)?.[1];
      if (state) byState[state] = (byState[state] ?? 0) + v;
    } else if (COUNTERS[name]) {
      counters[COUNTERS[name]!] = (counters[COUNTERS[name]!] ?? 0) + v;
    }
  }
  return { byState, counters };
}

/** The R2 key inside a signed download URL (`.../files/<key>?exp=&sig=`). */
export function keyOfDownloadUrl(url: string): string {
  const path = new URL(url).pathname;
  return decodeURIComponent(path.slice(path.indexOf("/files/") + "/files/".length));
}

import http from "node:http";
import { SubmitResponseSchema, TaskViewSchema, type SubmitResponse, type TaskView } from "../shared/api.ts";

export interface Timed<T> {
  status: number;
  body: T;
  /** performance.now() when the request started and when its whole response had arrived. */
  start: number;
  end: number;
  /** Epoch ms of `end`, comparable across processes. */
  endEpoch: number;
}

/** The submit body the benchmark sends: sd15_basic with a unique prompt and `steps` sampler steps. */
export function submitBody(i: number, steps: number): string {
  return JSON.stringify({ workflow_id: "sd15_basic", params: { prompt: `bench job ${i}`, steps } });
}

/**
 * A keep-alive HTTP/1.1 client for the edge (node:http, no fetch overhead), as a client
 * library with connection reuse would talk to it. `maxSockets` bounds concurrent connections.
 */
export class EdgeClient {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly clientKey: string;
  private readonly adminKey: string;

  constructor(baseUrl: string, keys: { client: string; admin: string }, maxSockets = 32) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
    this.clientKey = keys.client;
    this.adminKey = keys.admin;
  }

  request(method: string, path: string, opts: { body?: string; admin?: boolean } = {}): Promise<Timed<string>> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${opts.admin ? this.adminKey : this.clientKey}` };
      if (opts.body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(Buffer.byteLength(opts.body));
      }
      const start = performance.now();
      const req = http.request(
        { host: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const end = performance.now();
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), start, end, endEpoch: performance.timeOrigin + end });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(opts.body);
    });
  }

  /** POST /generate; the body is parsed only after the clock stopped. */
  async submit(i: number, steps: number): Promise<Timed<SubmitResponse | null>> {
    const r = await this.request("POST", "/generate", { body: submitBody(i, steps) });
    if (r.status !== 202) return { ...r, body: null };
    return { ...r, body: SubmitResponseSchema.parse(JSON.parse(r.body)) };
  }

  async task(id: string): Promise<Timed<TaskView | null>> {
    const r = await this.request("GET", `/tasks/${id}`);
    if (r.status !== 200) return { ...r, body: null };
    return { ...r, body: TaskViewSchema.parse(JSON.parse(r.body)) };
  }

  /** Jobs by state in the default pool, from the admin `/metrics` text. */
  async jobsByState(): Promise<Record<string, number>> {
    const r = await this.request("GET", "/metrics?pool=default", { admin: true });
    if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${r.body.slice(0, 200)}`);
    const out: Record<string, number> = {};
    for (const m of r.body.matchAll(/^comfy_edge_jobs\{pool="default",state="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
    const depth = /^comfy_edge_queue_depth\{pool="default"\} (\d+)$/m.exec(r.body);
    if (depth) out.queue_depth = Number(depth[1]);
    return out;
  }

  /** Agents connected to the default pool (admin `GET /agents`). */
  async connectedAgents(): Promise<{ agent_id: string; name: string; connected: boolean; accepting: boolean }[]> {
    const r = await this.request("GET", "/agents?pool=default", { admin: true });
    if (r.status !== 200) throw new Error(`GET /agents answered ${r.status}: ${r.body.slice(0, 200)}`);
    const agents = (JSON.parse(r.body) as { agents: { agent_id: string; name: string; connected: boolean; accepting: boolean }[] }).agents;
    return agents.filter((a) => a.connected);
  }

  close(): void {
    this.agent.destroy();
  }
}


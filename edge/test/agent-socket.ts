import { SELF } from "cloudflare:test";
import { PROTOCOL_VERSION, type AgentMessage, type EdgeMessage } from "../../shared/protocol.ts";
import { TEST_KEYS } from "./bindings.ts";

export const SD15_INVENTORY = {
  checkpoints: ["v1-5-pruned-emaonly.safetensors"],
  loras: ["Flux-Ghibli-Art-LoRA.safetensors"],
};

/** A real WebSocket into the Worker's /agent/connect, speaking the protocol by hand. */
export class TestAgent {
  readonly received: EdgeMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  readonly ws: WebSocket;
  readonly id: string;

  private constructor(ws: WebSocket, id: string) {
    this.ws = ws;
    this.id = id;
    ws.addEventListener("message", (e) => {
      this.received.push(JSON.parse(e.data as string));
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(opts: { pool?: string; id?: string; key?: string } = {}): Promise<TestAgent> {
    const id = opts.id ?? `agent-${crypto.randomUUID()}`;
    const res = await SELF.fetch(`http://edge.test/agent/connect?pool=${opts.pool ?? "default"}&agent_id=${id}`, {
      headers: { upgrade: "websocket", authorization: `Bearer ${opts.key ?? TEST_KEYS.agent}` },
    });
    if (!res.webSocket) throw new Error(`no websocket: ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    return new TestAgent(res.webSocket, id);
  }

  /**
   * Straight into one pool's queue object, past the Worker's route (which admits only the pools the
   * manifests name): for tests that need a queue of their own. `key` is the agent key's name.
   */
  static async connectToQueue(queue: DurableObjectStub, pool: string, opts: { id?: string; key?: string } = {}): Promise<TestAgent> {
    const id = opts.id ?? `agent-${crypto.randomUUID()}`;
    const res = await queue.fetch(`http://edge.test/agent/connect?pool=${pool}&agent_id=${id}`, { headers: { upgrade: "websocket", "x-agent-key": opts.key ?? "rig" } });
    if (!res.webSocket) throw new Error(`no websocket: ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    return new TestAgent(res.webSocket, id);
  }

  send(msg: AgentMessage | Record<string, unknown> | string): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  hello(extra: Partial<Extract<AgentMessage, { type: "hello" }>> = {}): void {
    this.send({
      type: "hello", protocol: PROTOCOL_VERSION, agent_id: this.id, name: "test", version: "0.0.0", pool: "default",
      capacity: 1, prefetch: 0, inventory: SD15_INVENTORY, gpu: { name: "Test GPU", vram_total_mb: 24_000 }, ...extra,
    });
  }

  /** Waits for the next message of a type (after `from`), failing after `ms`. */
  async next<T extends EdgeMessage["type"]>(type: T, ms = 5000, match: (m: Extract<EdgeMessage, { type: T }>) => boolean = () => true): Promise<Extract<EdgeMessage, { type: T }>> {
    const deadline = Date.now() + ms;
    let seen = 0;
    for (;;) {
      for (; seen < this.received.length; seen++) {
        const m = this.received[seen]!;
        if (m.type === type && match(m as Extract<EdgeMessage, { type: T }>)) {
          this.received.splice(seen, 1);
          return m as Extract<EdgeMessage, { type: T }>;
        }
      }
      if (Date.now() > deadline) throw new Error(`no ${type} within ${ms} ms; got ${JSON.stringify(this.received.map((m) => m.type))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** The next lease of job `id`, heartbeating meanwhile (a job this agent failed comes back only at a heartbeat); bounded. */
  async jobFor(id: string, ms = 10_000): Promise<Extract<EdgeMessage, { type: "job" }>> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const job = await this.next("job", 250, (j) => j.job_id === id).catch(() => null);
      if (job) return job;
      this.send({ type: "heartbeat", leases: [] });
    }
    throw new Error(`no job ${id} within ${ms} ms`);
  }

  /** Uploads one small PNG under the job's grant (index `index`) and returns the output a `complete` names for it. */
  async upload(job: Extract<EdgeMessage, { type: "job" }>, index = 0): Promise<{ status: number; output: { key: string; content_type: string; bytes: number; filename: string; node_id: string } }> {
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, index, 1, 2, 3]);
    const res = await SELF.fetch(`${job.upload.base_url}/${index}?exp=${job.upload.exp}&sig=${job.upload.sig}`, {
      method: "PUT",
      headers: { "content-type": "image/png", "content-length": String(png.byteLength) },
      body: png,
    });
    await res.body?.cancel();
    const key = new URL(job.upload.base_url).pathname.slice("/agent/uploads/".length) + `/${index}`;
    return { status: res.status, output: { key, content_type: "image/png", bytes: png.byteLength, filename: `ComfyUI_${index}.png`, node_id: "9" } };
  }

  /** Uploads one output and reports `complete` naming it: a job's whole successful end. */
  async complete(job: Extract<EdgeMessage, { type: "job" }>, extra: { run_ms?: number } = {}): Promise<void> {
    const { output } = await this.upload(job);
    this.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [output], ...extra });
  }

  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("socket did not close");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

import WebSocket from "ws";
import { EdgeMessageSchema, PROTOCOL_VERSION, type AgentMessage, type ModelInventory } from "../shared/protocol.ts";
import { epochNow } from "./clock.ts";
import type { JobLog } from "./job-log.ts";

export interface ProtocolAgentOptions {
  edgeUrl: string;
  token: string;
  agentId: string;
  inventory: ModelInventory;
  log: JobLog;
  pool?: string;
  capacity?: number;
  prefetch?: number;
  /** End each job the moment it arrives (default: a non-retryable `fail`, as the edge takes no output-less `complete`), or hold it forever. */
  autoComplete?: boolean;
  connectTimeoutMs?: number;
}

/**
 * A featherweight agent speaking shared/protocol.ts over the real `/agent/connect` socket:
 * hello → welcome, then every `job` frame is timestamped on arrival (before parsing) and,
 * unless told to hold, ended at once (a one-frame non-retryable `fail`: the edge counts a
 * `complete` without uploaded outputs as a failed attempt and would hand the job out again).
 * Many fit in one process.
 */
export class ProtocolAgent {
  readonly id: string;
  private readonly ws: WebSocket;
  private readonly opts: ProtocolAgentOptions;
  private held = 0;

  private constructor(ws: WebSocket, opts: ProtocolAgentOptions) {
    this.ws = ws;
    this.opts = opts;
    this.id = opts.agentId;
  }

  /** Connects and resolves after `welcome`. */
  static connect(opts: ProtocolAgentOptions): Promise<ProtocolAgent> {
    const url = new URL(opts.edgeUrl.replace(/^http/, "ws") + "/agent/connect");
    url.searchParams.set("pool", opts.pool ?? "default");
    url.searchParams.set("agent_id", opts.agentId);
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` }, perMessageDeflate: false });
    const agent = new ProtocolAgent(ws, opts);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`agent ${opts.agentId}: no welcome within ${opts.connectTimeoutMs ?? 30_000} ms`));
      }, opts.connectTimeoutMs ?? 30_000);
      let welcomed = false;
      ws.on("error", (e) => {
        clearTimeout(timer);
        if (welcomed) opts.log.problem(`agent ${opts.agentId}: socket error ${e.message}`);
        else reject(e);
      });
      ws.once("open", () => agent.send(agent.hello()));
      ws.on("message", (data: Buffer) => {
        const at = epochNow();
        const kind = agent.onFrame(data.toString("utf8"), at);
        if (kind === "welcome") {
          welcomed = true;
          clearTimeout(timer);
          resolve(agent);
        }
      });
    });
  }

  get holding(): number {
    return this.held;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2_000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000, "bench done");
    });
  }

  private hello(): AgentMessage {
    return {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      agent_id: this.opts.agentId,
      name: this.opts.agentId,
      version: "bench",
      pool: this.opts.pool ?? "default",
      capacity: this.opts.capacity ?? 1,
      prefetch: this.opts.prefetch ?? 0,
      inventory: this.opts.inventory,
      gpu: null,
    };
  }

  private send(msg: AgentMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onFrame(text: string, at: number): string {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = null;
    }
    const parsed = EdgeMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.opts.log.problem(`agent ${this.id}: a frame outside the protocol: ${text.slice(0, 200)}`);
      return "invalid";
    }
    const msg = parsed.data;
    if (msg.type === "job") {
      this.opts.log.arrived(msg.job_id, at);
      this.held++;
      if (this.opts.autoComplete ?? true) {
        this.send({ type: "fail", job_id: msg.job_id, lease_id: msg.lease_id, retryable: false, error: { code: "bench_done", message: "ended by the protocol bench agent" } });
      }
    } else if (msg.type === "ack") {
      this.held--;
      this.opts.log.acked(msg.job_id);
    } else if (msg.type === "error") {
      this.opts.log.problem(`agent ${this.id}: edge error ${msg.code}: ${msg.message}`);
    }
    return msg.type;
  }
}

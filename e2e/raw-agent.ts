import WebSocket from "ws";
import { EdgeMessageSchema, PROTOCOL_VERSION, type AgentMessage, type EdgeMessage } from "../shared/protocol.ts";

const SD15 = { checkpoints: ["v1-5-pruned-emaonly.safetensors"], loras: ["Flux-Ghibli-Art-LoRA.safetensors"] };

/** A protocol-level agent over a real socket: hello, heartbeats on demand, and every frame it got. */
export class RawAgent {
  readonly id: string;
  readonly frames: EdgeMessage[] = [];
  /** When each job's (latest) `job` frame arrived, by job id (epoch ms). */
  readonly jobArrivals = new Map<string, number>();
  private readonly ws: WebSocket;
  private heartbeat: ReturnType<typeof setInterval> | null = null;

  private constructor(ws: WebSocket, id: string) {
    this.ws = ws;
    this.id = id;
    ws.on("message", (data: Buffer) => {
      const parsed = EdgeMessageSchema.safeParse(JSON.parse(data.toString("utf8")));
      if (!parsed.success) return;
      this.frames.push(parsed.data);
      if (parsed.data.type === "job") this.jobArrivals.set(parsed.data.job_id, Date.now());
    });
    ws.on("error", () => undefined);
  }

  /** Connects, says hello (capacity 1, the SD1.5 models) and resolves at `welcome`. */
  static async connect(edgeUrl: string, token: string, id: string): Promise<RawAgent> {
    const ws = new WebSocket(`${edgeUrl.replace(/^http/, "ws")}/agent/connect?pool=default&agent_id=${id}`, { headers: { authorization: `Bearer ${token}` } });
    const agent = new RawAgent(ws, id);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    agent.send({ type: "hello", protocol: PROTOCOL_VERSION, agent_id: id, name: id, version: "test", pool: "default", capacity: 1, prefetch: 0, inventory: SD15, gpu: null });
    const deadline = Date.now() + 10_000;
    while (!agent.frames.some((f) => f.type === "welcome")) {
      if (Date.now() > deadline) throw new Error(`${id}: no welcome`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return agent;
  }

  send(msg: AgentMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Heartbeats for every lease it was given, as a live agent does (so it stays "alive" to the edge). */
  keepAlive(everyMs: number): void {
    this.heartbeat ??= setInterval(() => this.send({ type: "heartbeat", leases: [] }), everyMs);
  }

  jobs(): Extract<EdgeMessage, { type: "job" }>[] {
    return this.frames.filter((f): f is Extract<EdgeMessage, { type: "job" }> => f.type === "job");
  }

  /** Drops the connection without a close frame, like a rig that lost power. */
  kill(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.ws.terminate();
  }
}

import WebSocket from "ws";

/**
 * A bare agent connection for fuzzing the lease protocol: sends exactly what it is given
 * (text or binary, valid or not) and records every frame the edge sends back.
 */
export class AgentSocket {
  readonly frames: Record<string, unknown>[] = [];
  closeCode: number | null = null;
  readonly #ws: WebSocket;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        try {
          this.frames.push(JSON.parse(String(data)) as Record<string, unknown>);
        } catch {
          this.frames.push({ type: "(not json)", text: String(data).slice(0, 200) });
        }
      }
      this.#wake();
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      this.#wake();
    });
    ws.on("error", () => undefined);
  }

  static async open(edgeUrl: string, token: string, agentId: string, pool = "default"): Promise<AgentSocket> {
    const url = `${edgeUrl.replace(/^http/, "ws")}/agent/connect?pool=${encodeURIComponent(pool)}&agent_id=${encodeURIComponent(agentId)}`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const socket = new AgentSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`agent connect refused: HTTP ${res.statusCode}`)));
    });
    return socket;
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  send(frame: string | Uint8Array): void {
    this.#ws.send(frame, { binary: typeof frame !== "string" });
  }

  /** The first frame at index >= `from` matching `match`, waiting up to `ms` for it. */
  async next(match: (f: Record<string, unknown>) => boolean, from = 0, ms = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting; got ${this.#types(from)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${ms} ms; got ${this.#types(from)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#ws.terminate();
  }

  #types(from: number): string {
    return this.frames.slice(from).map((f) => String(f.type)).join(",") || "nothing";
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

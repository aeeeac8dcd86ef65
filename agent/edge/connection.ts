import pRetry from "p-retry";
import type { Logger } from "pino";
import WebSocket from "ws";
import { z } from "zod";
import {
  AgentMessageSchema,
  CLOSE,
  EdgeMessageSchema,
  PROTOCOL_VERSION,
  WelcomeSchema,
  type AgentMessage,
  type EdgeMessage,
  type Hello,
  type LeaseRef,
} from "../../shared/protocol.ts";
import { webSocketProxy } from "../ws-proxy.ts";

export type Welcome = z.infer<typeof WelcomeSchema>;

export type EdgeConnectionOptions = {
  /** Edge base URL (http(s) or ws(s)); the socket goes to `/agent/connect`. */
  edgeUrl: string;
  token: string;
  /** The edge routes the socket to its pool's queue and tags it with the agent id before `hello`. */
  agentId: string;
  pool: string;
  /** Builds the `hello` afresh for every connection (the inventory may have changed). */
  hello: () => Promise<Hello>;
  /** Leases to name in each heartbeat. */
  leases: () => LeaseRef[];
  onWelcome: (welcome: Welcome) => void;
  /** Every valid edge message after the welcome. */
  onMessage: (message: EdgeMessage) => void;
  onClose?: (code: number, reason: string) => void;
  /**
   * Whether losing the socket now loses nothing (the agent is stopping with no lease in hand):
   * an abnormal close is then logged at info, not warn. A Ctrl-C on `npm start` reaches workerd
   * too, so the edge vanishes while the agent drains.
   */
  closeIsHarmless?: () => boolean;
  log: Logger;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  welcomeTimeoutMs: number;
  /**
   * Schema-check every outgoing message before sending (an agent bug then fails loudly instead
   * of reaching the edge). Costs CPU on every frame, so by default only under the test runner.
   */
  validateOutgoing?: boolean;
};

const CLOSE_NAMES = new Map<number, string>(Object.entries(CLOSE).map(([name, code]) => [code, name]));

/** A session that reached `welcome`; `closed` resolves when its socket is gone. */
type Session = { ws: WebSocket; welcome: Welcome; closed: Promise<void> };

/**
 * The lease socket to the edge: connects, says hello, waits for welcome, heartbeats,
 * and reconnects with jittered backoff for as long as it runs (it never gives up).
 */
export class EdgeConnection {
  readonly #opts: EdgeConnectionOptions;
  readonly #stop = new AbortController();
  #session: Session | null = null;
  #connecting: WebSocket | null = null;
  #loop: Promise<void> | null = null;

  constructor(opts: EdgeConnectionOptions) {
    this.#opts = opts;
  }

  get url(): string {
    const u = new URL(this.#opts.edgeUrl.replace(/\/+$/, "") + "/agent/connect");
    if (u.protocol === "http:") u.protocol = "ws:";
    if (u.protocol === "https:") u.protocol = "wss:";
    u.searchParams.set("pool", this.#opts.pool);
    u.searchParams.set("agent_id", this.#opts.agentId);
    return u.toString();
  }

  get connected(): boolean {
    return this.#session !== null && this.#session.ws.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Sends one message if a session is up; false otherwise (the caller decides what is lost). */
  send(message: AgentMessage): boolean {
    const ws = this.#session?.ws;
    if (this.#opts.validateOutgoing ?? process.env.VITEST !== undefined) {
      const checked = AgentMessageSchema.safeParse(message);
      if (!checked.success) {
        this.#opts.log.error({ type: message.type, issues: checked.error.issues.slice(0, 5) }, "refusing to send an invalid message (agent bug)");
        return false;
      }
      message = checked.data;
    }
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /** Closes with a close frame and stops reconnecting. */
  async close(reason = "agent stopping"): Promise<void> {
    this.#stop.abort();
    this.#connecting?.terminate();
    const ws = this.#session?.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      ws.close(CLOSE.normal, reason);
      const timer = setTimeout(() => ws.terminate(), 2_000);
      await closed;
      clearTimeout(timer);
    }
    await this.#loop?.catch(() => {});
  }

  /** Closes the current socket normally; the agent reconnects at once with a fresh `hello`. */
  reconnect(reason: string): void {
    const ws = this.#session?.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(CLOSE.normal, reason.slice(0, 120));
  }

  /** Drops the socket at once, without a close frame (a crash, as the edge sees it). */
  kill(): void {
    this.#stop.abort();
    this.#connecting?.terminate();
    this.#session?.ws.terminate();
  }

  async #run(): Promise<void> {
    const { log } = this.#opts;
    while (!this.#stop.signal.aborted) {
      let session: Session;
      try {
        session = await pRetry(() => this.#connectOnce(), {
          retries: Number.POSITIVE_INFINITY,
          minTimeout: this.#opts.reconnectMinMs,
          maxTimeout: this.#opts.reconnectMaxMs,
          randomize: true,
          signal: this.#stop.signal,
          onFailedAttempt: ({ error, attemptNumber }) => log.warn({ attempt: attemptNumber, err: error.message }, "edge connection failed; retrying"),
        });
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        // p-retry gives up on programming errors (TypeError); the agent must not.
        log.error({ err: e instanceof Error ? e.stack : String(e) }, "edge connection attempt crashed; retrying");
        await sleep(this.#opts.reconnectMaxMs, this.#stop.signal);
        continue;
      }
      this.#session = session;
      const heartbeat = setInterval(() => this.send({ type: "heartbeat", leases: this.#opts.leases().slice(0, 128) }), session.welcome.heartbeat_ms);
      try {
        this.#opts.onWelcome(session.welcome);
        await session.closed;
      } finally {
        clearInterval(heartbeat);
        this.#session = null;
      }
      if (this.#stop.signal.aborted) return;
      // A socket the edge accepts and then drops at once must not become a busy loop.
      await sleep(this.#opts.reconnectMinMs * (1 + Math.random()), this.#stop.signal);
    }
  }

  #connectOnce(): Promise<Session> {
    const { log } = this.#opts;
    return this.#opts.hello().then(
      (hello) =>
        new Promise<Session>((resolve, reject) => {
          const ws = new WebSocket(this.url, {
            headers: { authorization: `Bearer ${this.#opts.token}` },
            handshakeTimeout: this.#opts.welcomeTimeoutMs,
            perMessageDeflate: false,
            maxPayload: 32 * 1024 * 1024,
            ...webSocketProxy(this.url),
          });
          this.#connecting = ws;
          let welcomed = false;
          let markClosed: () => void = () => {};
          const closed = new Promise<void>((r) => (markClosed = r));
          const welcomeTimer = setTimeout(() => {
            ws.terminate();
            reject(new Error(`no welcome from the edge within ${this.#opts.welcomeTimeoutMs} ms`));
          }, this.#opts.welcomeTimeoutMs);
          const liveness = new Liveness(ws);

          ws.on("unexpected-response", (_req, res) => {
            clearTimeout(welcomeTimer);
            const hint = res.statusCode === 401 || res.statusCode === 403 ? " (check --token / AGENT_TOKEN)" : "";
            reject(new Error(`edge refused the connection: HTTP ${res.statusCode}${hint}`));
            res.resume();
            ws.terminate();
          });
          ws.on("open", () => {
            ws.send(JSON.stringify(hello));
          });
          ws.on("error", (err) => {
            if (!welcomed) {
              clearTimeout(welcomeTimer);
              reject(new Error(`edge socket error: ${err.message}`));
            } else log.warn({ err: err.message }, "edge socket error");
          });
          ws.on("close", (code, reasonBuf) => {
            clearTimeout(welcomeTimer);
            liveness.stop();
            const reason = reasonBuf.toString();
            const name = CLOSE_NAMES.get(code);
            if (!welcomed) {
              reject(new Error(`edge closed the socket before welcome: ${code}${name ? ` (${name})` : ""} ${reason}`));
              return;
            }
            const level = code === CLOSE.normal || code === CLOSE.drained || this.#opts.closeIsHarmless?.() ? "info" : "warn";
            log[level]({ code, name, reason }, "edge connection closed");
            this.#opts.onClose?.(code, reason);
            markClosed();
          });
          ws.on("pong", () => liveness.pong());
          ws.on("message", (data, isBinary) => {
            liveness.heard();
            const message = this.#parse(isBinary ? null : data.toString());
            if (!message) return;
            if (!welcomed) {
              if (message.type !== "welcome") {
                log.warn({ type: message.type }, "edge message before welcome; ignored");
                return;
              }
              if (message.protocol !== PROTOCOL_VERSION) {
                log.error({ edge: message.protocol, agent: PROTOCOL_VERSION }, "edge speaks another protocol version");
              }
              welcomed = true;
              clearTimeout(welcomeTimer);
              this.#connecting = null;
              liveness.start(message.heartbeat_ms);
              log.info({ agent_id: message.agent_id, lease_ttl_ms: message.lease_ttl_ms, heartbeat_ms: message.heartbeat_ms }, "connected to the edge");
              resolve({ ws, welcome: message, closed });
              return;
            }
            if (message.type === "welcome") {
              log.warn("second welcome on one connection; ignored");
              return;
            }
            this.#opts.onMessage(message);
          });
        }),
    );
  }

  #parse(text: string | null): EdgeMessage | null {
    const { log } = this.#opts;
    if (text === null) {
      log.warn("binary frame from the edge; ignored");
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      log.warn({ frame: text.slice(0, 200) }, "edge frame is not JSON; ignored");
      return null;
    }
    const parsed = EdgeMessageSchema.safeParse(json);
    if (!parsed.success) {
      const type = (json as { type?: unknown } | null)?.type;
      log.warn({ type, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`) }, "invalid edge message; ignored");
      return null;
    }
    return parsed.data;
  }
}

/**
 * Notices a peer that vanished without closing (a cut network): pings every heartbeat and
 * terminates when nothing came back for three of them. Enforced only once a pong proved
 * the peer answers pings, so an edge that ignores them is never cut off.
 */
class Liveness {
  readonly #ws: WebSocket;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastHeard = Date.now();
  #pongs = false;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  start(periodMs: number): void {
    this.#timer = setInterval(() => {
      if (this.#pongs && Date.now() - this.#lastHeard > periodMs * 3) {
        this.#ws.terminate();
        return;
      }
      if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
    }, periodMs);
  }

  heard(): void {
    this.#lastHeard = Date.now();
  }

  pong(): void {
    this.#pongs = true;
    this.heard();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import type { Sim } from "./server.ts";
import type { Graph } from "./validate.ts";

/** Test helpers: a real `ws` client that records everything, and the workflows the sim runs. */

export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}

const fixture = (name: string): Graph => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8"));

/** A fresh copy of the project's Flux workflow (ParamNodes, GGUF, Easy-Use, WaveSpeed). */
export const fluxPrompt = (): Graph => fixture("flux_default");
/** A fresh copy of a plain SD1.5 text-to-image workflow (KSampler, 3 steps, 512x512). */
export const sd15Prompt = (): Graph => fixture("sd15_basic");

export class TestClient {
  readonly messages: WsMessage[] = [];
  readonly binaries: Buffer[] = [];
  readonly clientId: string;
  closeCode: number | null = null;
  private readonly ws: WebSocket;
  private listeners: (() => void)[] = [];

  private constructor(ws: WebSocket, clientId: string) {
    this.ws = ws;
    this.clientId = clientId;
    ws.on("message", (raw, isBinary) => {
      if (isBinary) this.binaries.push(Buffer.from(raw as Buffer));
      else this.messages.push(JSON.parse(String(raw)) as WsMessage);
      this.notify();
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      this.notify();
    });
    ws.on("error", () => undefined);
  }

  /** Opens `/ws?clientId=` (or `/api/ws`) and waits for the socket to be open. */
  static async connect(sim: Sim, clientId: string = randomUUID(), path = "/ws"): Promise<TestClient> {
    const ws = new WebSocket(`${sim.url.replace("http", "ws")}${path}?clientId=${clientId}`);
    const client = new TestClient(ws, clientId);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  private notify(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l();
  }

  /** Resolves when `check` holds (checked now and after every frame), or rejects after `ms`. */
  async until<T>(check: () => T | undefined | false, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = check();
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${this.messages.map((m) => m.type).join(",")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first message of `type` (matching `where`), waiting for it. */
  next(type: string, where: (d: Record<string, unknown>) => boolean = () => true, ms?: number): Promise<WsMessage> {
    return this.until(() => this.messages.find((m) => m.type === type && where(m.data)), ms);
  }

  /** Waits for the final `executing {node: null}` of a prompt. */
  finished(promptId: string, ms?: number): Promise<WsMessage> {
    return this.next("executing", (d) => d.node === null && d.prompt_id === promptId, ms);
  }

  /** Messages about one prompt (and status), in arrival order, as `type` or `type:node`. */
  trace(promptId: string): string[] {
    return this.messages
      .filter((m) => m.type === "status" || m.data.prompt_id === promptId)
      .map((m) => (m.type === "executing" || m.type === "executed" ? `${m.type}:${String(m.data.node)}` : m.type));
  }

  close(): void {
    this.ws.close();
  }
}

export interface Submitted {
  status: number;
  body: Record<string, unknown>;
}

/** `POST /prompt` with `{prompt, client_id, ...extra}`. */
export async function submit(sim: Sim, prompt: unknown, clientId?: string, extra: Record<string, unknown> = {}): Promise<Submitted> {
  const res = await fetch(`${sim.url}/prompt`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt, ...(clientId ? { client_id: clientId } : {}), ...extra }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(sim: Sim, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${sim.url}${path}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function postJson(sim: Sim, path: string, body: unknown): Promise<Response> {
  return fetch(`${sim.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

/**
 * Queues a prompt as another client would (a person in ComfyUI's web page, another program):
 * its own client id, and optionally `extra_data`. Returns the prompt id; throws on a 400.
 */
export async function queueAsOtherClient(sim: Sim, prompt: unknown, extra: { extra_data?: Record<string, unknown>; clientId?: string } = {}): Promise<string> {
  const res = await submit(sim, prompt, extra.clientId ?? `someone-else-${randomUUID()}`, extra.extra_data ? { extra_data: extra.extra_data } : {});
  if (res.status !== 200 || typeof res.body.prompt_id !== "string") throw new Error(`POST /prompt: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.prompt_id;
}

import type { EdgeMessage } from "../../shared/protocol.ts";
import type { Config } from "../env.ts";
import type { AgentRegistry } from "./agents.ts";
import type { HealthBook } from "./health.ts";
import type { JobStore } from "./store.ts";
import type { Job } from "./types.ts";

/** What the queue's parts (dispatcher, agent sessions, subscribers, webhooks) share. */
export interface QueueCore {
  readonly state: DurableObjectState;
  readonly config: Config;
  readonly store: JobStore;
  readonly agents: AgentRegistry;
  /** Each rig's outcomes, quarantine and proof of life (health.ts). */
  readonly health: HealthBook;
  now(): number;
  /** Sends one frame; false when the socket is gone. */
  send(ws: WebSocket, msg: EdgeMessage): boolean;
  sendText(ws: WebSocket, text: string): boolean;
  agentSockets(agentId: string): WebSocket[];
  isConnected(agentId: string): boolean;
  markConnected(agentId: string): void;
  /** The agent counts as gone (silent past the bound) even while its socket is still closing. */
  markDisconnected(agentId: string): void;
  /** A job changed state: tell its subscribers, and on a terminal state start its webhook and cleanup. */
  notify(job: Job): void;
  notifyProgress(job: Job): void;
  /** A live preview of a running job for its watchers; nothing is stored. */
  notifyPreview(job: Job, preview: { content_type: "image/jpeg" | "image/png" | "image/webp"; data: string; node_id: string | null }): void;
  armAlarm(at: number): void;
  inputUrls(job: Job): Promise<{ node_id: string; input: string; url: string; filename: string }[]>;
}

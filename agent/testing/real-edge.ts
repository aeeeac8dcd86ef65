import pino from "pino";
import WebSocket from "ws";
import { z } from "zod";
import { Api, testKeys } from "../../e2e/helpers.ts";
import { startLocalEdge, type EdgeKeys, type LocalEdge } from "../../scripts/local/edge.ts";
import { TaskEventSchema, type TaskEvent, type TaskView } from "../../shared/api.ts";
import { ModelInventorySchema } from "../../shared/protocol.ts";
import type { AgentConfigInput } from "../config.ts";
import { startAgent, type Agent } from "../main.ts";
import { until } from "./until.ts";

/** What `GET /agents` says about one agent (the fields agent tests read). */
export const EdgeAgentSchema = z.object({
  agent_id: z.string(),
  name: z.string(),
  pool: z.string(),
  connected: z.boolean(),
  accepting: z.boolean(),
  pause_reason: z.string().nullable(),
  capacity: z.number(),
  prefetch: z.number(),
  gpu: z.object({ name: z.string(), vram_total_mb: z.number() }).nullable(),
  inventory: ModelInventorySchema,
  jobs: z.array(z.object({ task_id: z.string(), state: z.string(), lease_expires: z.number().nullable() })),
  connected_at: z.string(),
  last_heartbeat: z.string(),
});
export type EdgeAgent = z.infer<typeof EdgeAgentSchema>;

/** The agent tuning for tests: reconnects and polls in milliseconds, not seconds. */
export const TEST_TUNING = {
  pollMs: 25,
  reconnectMinMs: 10,
  reconnectMaxMs: 200,
  progressIntervalMs: 0,
  uploadMinMs: 1,
  stopWaitMs: 5_000,
  ackWaitMs: 2_000,
  welcomeTimeoutMs: 10_000,
};

/**
 * The real edge (the Worker and the JobQueue Durable Object in workerd) for agent tests,
 * with the HTTP calls they make on it. Tasks submitted through it are cancelled by
 * `cancelSubmitted`, so tests sharing one edge never run each other's jobs.
 */
export type EdgeUnderTest = {
  edge: LocalEdge;
  keys: EdgeKeys;
  api: Api;
  submit(params?: Record<string, unknown>): Promise<string>;
  task(id: string): Promise<TaskView>;
  waitFor(id: string, check: (t: TaskView) => boolean, what: string, ms?: number): Promise<TaskView>;
  agents(): Promise<EdgeAgent[]>;
  agent(id: string): Promise<EdgeAgent | undefined>;
  /** A counter of the edge's `/metrics` (e.g. `stale_messages` for comfy_edge_stale_messages_total). */
  counter(name: string): Promise<number>;
  /** Opens the task's event feed (WebSocket) and records every frame until `close()`. */
  watch(id: string): Promise<{ events: TaskEvent[]; close: () => void }>;
  cancelSubmitted(): Promise<void>;
  close(): Promise<void>;
};

export async function startEdgeUnderTest(opts: { vars?: Record<string, string>; persistDir?: string; port?: number; keys?: EdgeKeys } = {}): Promise<EdgeUnderTest> {
  const keys = opts.keys ?? testKeys("agent");
  const edge = await startLocalEdge({ keys, vars: { MAX_ATTEMPTS: "3", ...opts.vars }, ...(opts.persistDir ? { persistDir: opts.persistDir } : {}), ...(opts.port ? { port: opts.port } : {}) });
  return edgeUnderTest(edge, keys);
}

/** The HTTP calls agent tests make on a running edge. */
function edgeUnderTest(edge: LocalEdge, keys: EdgeKeys): EdgeUnderTest {
  const api = new Api(edge.url, keys.client);
  const submitted: string[] = [];
  const admin = (path: string) => fetch(`${edge.url}${path}`, { headers: { authorization: `Bearer ${keys.admin}` } });
  const self: EdgeUnderTest = {
    edge,
    keys,
    api,
    async submit(params = {}) {
      const { task_id } = await api.submit({ prompt: "a lighthouse at dusk", steps: 3, ...params });
      submitted.push(task_id);
      return task_id;
    },
    task: (id) => api.get(id),
    async waitFor(id, check, what, ms = 30_000) {
      let last: TaskView | null = null;
      await until(`${id}: ${what}`, async () => check((last = await api.get(id))), ms).catch((e: Error) => {
        throw new Error(`${e.message} (last seen: ${JSON.stringify({ status: last?.status, state: last?.state, attempts: last?.attempts, error: last?.error })})`);
      });
      return last as unknown as TaskView;
    },
    async agents() {
      const res = await admin("/agents");
      if (res.status !== 200) throw new Error(`GET /agents: ${res.status} ${await res.text()}`);
      return z.object({ agents: z.array(EdgeAgentSchema) }).parse(await res.json()).agents;
    },
    agent: async (id) => (await self.agents()).find((a) => a.agent_id === id),
    async counter(name) {
      const text = await (await admin("/metrics")).text();
      const line = text.split("\n").find((l) => l.startsWith(`comfy_edge_${name}_total{pool="default"}`));
      return line ? Number(line.split(" ").pop()) : 0;
    },
    async watch(id) {
      const url = `${edge.url.replace(/^http/, "ws")}/tasks/${id}/events`;
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${keys.client}` } });
      const events: TaskEvent[] = [];
      const first = new Promise<void>((resolve, reject) => {
        ws.once("message", () => resolve());
        ws.once("error", reject);
      });
      ws.on("message", (data) => events.push(TaskEventSchema.parse(JSON.parse(data.toString()))));
      await first;
      return { events, close: () => ws.terminate() };
    },
    async cancelSubmitted() {
      for (const id of submitted.splice(0)) await api.cancel(id);
    },
    close: () => edge.close(),
  };
  return self;
}

/** Starts an agent with test tuning and a silent logger; `kill()` it (or `stop()`) when done. */
export function startTestAgent(input: Pick<AgentConfigInput, "edgeUrl" | "token"> & Partial<AgentConfigInput>): Promise<Agent> {
  return startAgent(
    { name: "test-rig", agentId: `agt_test_${Math.random().toString(36).slice(2)}`, capacity: 1, prefetch: 0, graceMs: 5_000, metricsPort: null, ...input, tuning: { ...TEST_TUNING, ...input.tuning } },
    { logger: pino({ level: "silent" }) },
  );
}

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_INVENTORY } from "../sim/folders.ts";
import { startLocalEdge, type LocalEdge } from "../scripts/local/edge.ts";
import { AgentSocket } from "../chaos/fuzz/agent-socket.ts";
import { assertProperty } from "../chaos/fuzz/assert.ts";
import { validFrames, wireFrames, type Lease } from "../chaos/fuzz/frames.ts";

const keys = { client: "fuzzws-client-key-000001", agent: "fuzzws-agent-key-0000001", admin: "fuzzws-admin-key-0000001" };
const AGENT = "fuzz-agent-1";
const FRAME_RUNS = 500;
let edge: LocalEdge;
let agent: AgentSocket;
let lease: Lease;
let before: unknown;
let sent = 0;

const hello = (agentId: string) => ({
  type: "hello", protocol: 1, agent_id: agentId, name: "fuzz", version: "0.0.0", pool: "default", capacity: 1, prefetch: 0, inventory: DEFAULT_INVENTORY, gpu: null,
});

async function submit(): Promise<string> {
  const res = await fetch(`${edge.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys.client}`, "content-type": "application/json" },
    body: JSON.stringify({ workflow_id: "sd15_basic", params: { prompt: "fuzzed lease" } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { task_id: string }).task_id;
}

/** Everything about the leased job and its holder that a frame could change. */
async function snapshot(): Promise<unknown> {
  const task = (await (await fetch(`${edge.url}/tasks/${lease.job_id}`, { headers: { authorization: `Bearer ${keys.client}` } })).json()) as Record<string, unknown>;
  const { agents } = (await (await fetch(`${edge.url}/agents`, { headers: { authorization: `Bearer ${keys.admin}` } })).json()) as { agents: Record<string, unknown>[] };
  const holder = agents.find((a) => a.agent_id === AGENT);
  return {
    task: { status: task.status, state: task.state, attempts: task.attempts, progress: task.progress, error: task.error, result: task.result, started_at: task.started_at, finished_at: task.finished_at },
    holder: holder && { accepting: holder.accepting, capacity: holder.capacity, prefetch: holder.prefetch, inventory: holder.inventory, jobs: holder.jobs, connected: holder.connected },
  };
}

/** Sends a frame, then a probe the edge must answer: once it has, the frame was handled. */
async function sendAndSettle(socket: AgentSocket, frame: string | Uint8Array): Promise<Record<string, unknown>[]> {
  sent++;
  const from = socket.frames.length;
  socket.send(frame);
  const probe = `probe-${sent}`;
  socket.send(JSON.stringify({ type: probe }));
  await socket.next((f) => f.type === "error" && String(f.message).includes(probe), from);
  return socket.frames.slice(from);
}

beforeAll(async () => {
  edge = await startLocalEdge({ keys, vars: { LEASE_TTL_MS: "600000", RATE_LIMIT_PER_MIN: "1000000" } });
  agent = await AgentSocket.open(edge.url, keys.agent, AGENT);
  agent.send(JSON.stringify(hello(AGENT)));
  await agent.next((f) => f.type === "welcome");
  const taskId = await submit();
  const job = await agent.next((f) => f.type === "job" && f.job_id === taskId);
  lease = { job_id: taskId, lease_id: String(job.lease_id) };
  before = await snapshot();
});
afterAll(async () => {
  console.log(`fuzz-agent: ${sent} frames sent on agent sockets`);
  agent?.close();
  await edge?.close();
});

describe("the agent socket under random and mutated frames", () => {
  it("after hello: no frame that is invalid (or names a lease never issued) changes the leased job, and the socket stays up", async () => {
    await assertProperty(
      fc.asyncProperty(wireFrames(lease, AGENT), async (frame) => {
        const replies = await sendAndSettle(agent, frame);
        const shown = typeof frame === "string" ? frame.slice(0, 300) : `binary[${frame.length}]`;
        expect(replies.filter((r) => r.code === "internal"), shown).toEqual([]);
        expect(agent.open, shown).toBe(true);
        expect(await snapshot(), shown).toEqual(before);
      }),
      { numRuns: FRAME_RUNS },
    );
  });

  it("before hello: even well-formed frames naming the real lease are refused with hello_required", async () => {
    const stranger = await AgentSocket.open(edge.url, keys.agent, "fuzz-no-hello");
    try {
      await assertProperty(
        fc.asyncProperty(validFrames(lease, "fuzz-no-hello").filter((f) => f.type !== "hello"), async (frame) => {
          const replies = await sendAndSettle(stranger, JSON.stringify(frame));
          expect(replies[0]?.code, JSON.stringify(frame)).toBe("hello_required");
          expect(await snapshot()).toEqual(before);
        }),
        { numRuns: 40 },
      );
    } finally {
      stranger.close();
    }
  });

  it("a frame over 1 MB is refused without touching the lease", async () => {
    const big = await AgentSocket.open(edge.url, keys.agent, "fuzz-big");
    try {
      sent++;
      const from = big.frames.length;
      big.send(JSON.stringify({ type: "heartbeat", leases: [], pad: "x".repeat(1_100_000) }));
      // Either the edge answers invalid_frame or the runtime closes the socket for the size; never a crash.
      await big.next((f) => f.type === "error" && f.code === "invalid_frame", from).catch(() => expect(big.closeCode).not.toBeNull());
      expect(await snapshot()).toEqual(before);
    } finally {
      big.close();
    }
  });
});

describe("after the fuzzing", () => {
  it("the fuzzed agent's lease still works, the edge answers /ping and takes a normal job", async () => {
    const from = agent.frames.length;
    agent.send(JSON.stringify({ type: "release", ...lease, reason: "fuzzing over" }));
    await agent.next((f) => f.type === "ack" && f.of === "release" && f.lease_id === lease.lease_id, from);
    expect((await fetch(`${edge.url}/ping`)).status).toBe(200);
    await submit();
  });
});

import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { newTaskId } from "../ids.ts";
import { TestAgent } from "../test/agent-socket.ts";
import { call } from "../test/http.ts";
import { queueFor } from "./stub.ts";
import type { NewJob } from "./types.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});

async function agent(): Promise<TestAgent> {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity: 4 });
  await a.next("welcome");
  return a;
}

/** A job straight into the default pool's queue, as the submit route builds it, with a short timeout_s. */
async function enqueue(timeoutS: number, retryOnTimeout: number): Promise<string> {
  const job: NewJob = {
    id: newTaskId("default"), owner: "alice", workflow_id: "sd15_basic", pool: "default", priority: 900,
    params_json: "{}", graph_json: `{"3":{"class_type":"KSampler","inputs":{}}}`,
    models: [{ folder: "checkpoints", name: "v1-5-pruned-emaonly.safetensors" }], inputs: [], seed: 1,
    output_format: "png", quality: 90, timeout_s: timeoutS, retry_on_timeout: retryOnTimeout, idem_key: null, idem_hash: null, webhook_url: null,
  };
  const r = await queueFor(env, "default").enqueue(job);
  if (!r.ok) throw new Error(r.message);
  return r.value.task_id;
}

const task = async (id: string) => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

/** Runs the lease like a stuck rig: "running", then heartbeats only, until the edge cancels it (bounded). */
async function runUntilCancelled(a: TestAgent, job: { job_id: string; lease_id: string }): Promise<void> {
  a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 1, max: 20 });
  for (let i = 0; i < 60; i++) {
    const cancel = await a.next("cancel", 250, (c) => c.lease_id === job.lease_id).catch(() => null);
    if (cancel) return;
    a.send({ type: "heartbeat", leases: [{ job_id: job.job_id, lease_id: job.lease_id }] });
  }
  throw new Error(`no cancel for ${job.lease_id}`);
}

describe("timeouts that hold", () => {
  it("sends timeout_s with the job, fails a run past it plus the grace though the agent heartbeats, retries it once, then FAILURE `timeout`", async () => {
    const a = await agent();
    const id = await enqueue(1, 1);
    const first = await a.jobFor(id);
    expect(first.timeout_s).toBe(1);
    await runUntilCancelled(a, first);
    // The agent's own report of the interrupted prompt comes late, for a lease that is over: it changes nothing.
    a.send({ type: "fail", job_id: id, lease_id: first.lease_id, retryable: false, error: { code: "cancelled", message: "interrupted" } });
    expect((await a.next("error", 5000, (m) => m.lease_id === first.lease_id)).code).toBe("stale_lease");

    const second = await a.jobFor(id);
    expect(second.attempt).toBe(2);
    expect(await task(id)).toMatchObject({ attempts: 2, error: { code: "timeout" } });
    await runUntilCancelled(a, second);
    const ended = await task(id);
    // Two timeouts: the second is not retried, though max_attempts (3) would allow a third attempt.
    expect(ended).toMatchObject({ status: "FAILURE", attempts: 2, max_attempts: 3, error: { code: "timeout" } });
    expect(ended.error.message).toContain("1 s");
    const metrics = await (await call("GET", "/metrics", "admin")).text();
    expect(Number(/comfy_edge_run_timeouts_total\{pool="default"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it("applies retry_on_timeout to the agent's own `timeout` reports: 0 means no retry, other failures keep their budget", async () => {
    const a = await agent();
    const never = await enqueue(600, 0);
    const job = await a.jobFor(never);
    a.send({ type: "fail", job_id: never, lease_id: job.lease_id, retryable: true, error: { code: "timeout", message: "job ran longer than 600s; interrupted" } });
    await a.next("ack", 5000, (m) => m.job_id === never);
    expect(await task(never)).toMatchObject({ status: "FAILURE", attempts: 1, error: { code: "timeout" } });

    const once = await enqueue(600, 1);
    const codes = ["comfyui_unavailable", "timeout", "timeout"];
    for (const [i, code] of codes.entries()) {
      const j = await a.jobFor(once);
      expect(j.attempt).toBe(i + 1);
      a.send({ type: "fail", job_id: once, lease_id: j.lease_id, retryable: true, error: { code, message: code } });
      await a.next("ack", 5000, (m) => m.job_id === once);
    }
    expect(await task(once)).toMatchObject({ status: "FAILURE", attempts: 3, error: { code: "timeout" } });
  });

  it("shows retry_on_timeout beside timeout_s on GET /workflows/{id}", async () => {
    const view = (await (await call("GET", "/workflows/sd15_basic")).json()) as Json;
    expect(view).toMatchObject({ timeout_s: expect.any(Number), retry_on_timeout: 1 });
  });
});

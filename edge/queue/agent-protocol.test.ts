import { afterEach, describe, expect, it } from "vitest";
import { CLOSE } from "../../shared/protocol.ts";
import { call, submit } from "../test/http.ts";
import { SELF } from "cloudflare:test";
import { TestAgent } from "../test/agent-socket.ts";
import { TEST_KEYS } from "../test/bindings.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
async function agent(opts: Parameters<typeof TestAgent.connect>[0] = {}) {
  const a = await TestAgent.connect(opts);
  agents.push(a);
  return a;
}
afterEach(async () => {
  while (agents.length) agents.pop()!.close();
  // Drain anything earlier tests left queued, so each test starts with an empty default pool.
  await drain();
});

async function drain() {
  const sweeper = await TestAgent.connect({ id: "sweeper" });
  sweeper.hello({ capacity: 64, inventory: { checkpoints: ["v1-5-pruned-emaonly.safetensors"], loras: ["Flux-Ghibli-Art-LoRA.safetensors"], unet: ["flux1-schnell-Q4_K_S.gguf", "flux1-dev-Q4_K_S.gguf"], vae: ["ae.safetensors"], clip: ["clip_l.safetensors", "t5-v1_1-xxl-encoder-Q5_K_M.gguf"] } });
  await sweeper.next("welcome");
  for (;;) {
    const job = await sweeper.next("job", 300).catch(() => null);
    if (!job) break;
    sweeper.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "test_drain", message: "drained by test" } });
  }
  sweeper.close();
}

const task = async (id: string) => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

describe("agent connection", () => {
  it("answers hello with welcome (lease TTL, heartbeat period)", async () => {
    const a = await agent();
    a.hello();
    const w = await a.next("welcome");
    expect(w).toMatchObject({ protocol: 1, agent_id: a.id, lease_ttl_ms: 2000 });
    expect(w.heartbeat_ms).toBeLessThan(w.lease_ttl_ms);
  });

  it("refuses an incompatible protocol version with a clear close reason", async () => {
    const a = await agent();
    a.hello({ protocol: 99 });
    const closed = await a.waitClosed();
    expect(closed.code).toBe(CLOSE.protocolMismatch);
    expect(closed.reason).toContain("upgrade the agent");
  });

  it("answers invalid frames with error and changes nothing", async () => {
    const a = await agent();
    a.send("not json");
    expect((await a.next("error")).code).toBe("invalid_frame");
    a.send({ type: "teleport" });
    expect((await a.next("error")).code).toBe("unknown_type");
    a.send({ type: "heartbeat", leases: [] });
    expect((await a.next("error")).code).toBe("hello_required");
    a.hello();
    await a.next("welcome");
    a.send({ type: "progress", job_id: "x" });
    const e = await a.next("error");
    expect(e.code).toBe("invalid_frame");
    expect(e.message).toContain("lease_id");
  });

  it("refuses a second hello on the same connection without changing anything", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    a.hello({ protocol: 99, capacity: 9 });
    expect((await a.next("error")).message).toContain("already received");
    expect(a.closed).toBeNull();
  });

  it("only agent keys may connect", async () => {
    await expect(TestAgent.connect({ key: "test-client-key-alice-0000000001" })).rejects.toThrow(/403/);
  });
});

describe("dispatch and the lease lifecycle", () => {
  it("pushes a job to an idle agent at once, runs it to SUCCESS with signed output links", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit({ prompt: "lease me", seed: 7 });
    const job = await a.next("job");
    expect(job).toMatchObject({ job_id: body.task_id, attempt: 1 });
    expect(job.graph).toBeTypeOf("object");
    expect(job.upload.base_url).toContain(`/agent/uploads/out/${body.task_id}/${job.lease_id}`);
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 3, max: 10, node: "3", step_name: "KSampler" });
    await expect.poll(async () => (await task(body.task_id)).status).toBe("PROGRESS");
    expect((await task(body.task_id)).progress).toMatchObject({ current: 3, total: 10, percent: 30, step_name: "KSampler" });

    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3, 4]);
    const put = await fetchUpload(job.upload, 0, png);
    expect(put.status).toBe(201);
    const { key } = (await put.json()) as Json;
    a.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [{ key, content_type: "image/png", bytes: png.byteLength, filename: "ComfyUI_00001_.png", node_id: "9" }] });
    expect((await a.next("ack")).of).toBe("complete");
    const done = await task(body.task_id);
    expect(done).toMatchObject({ status: "SUCCESS", attempts: 1, error: null });
    expect(done.result.outputs).toHaveLength(1);
    expect(done.result.download_url).toBe(done.result.outputs[0].url);
    const file = await call("GET", new URL(done.result.download_url).pathname + new URL(done.result.download_url).search, "none");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
  });

  it("dates the run from the agent's run_ms when a job completes with no progress reported, never before it was queued", async () => {
    const a = await agent();
    a.hello({ capacity: 2 });
    await a.next("welcome");
    const quick = await submit({ prompt: "instant" });
    const odd = await submit({ prompt: "clock skew" });
    const jobs = [await a.next("job"), await a.next("job")];
    await new Promise((r) => setTimeout(r, 60));
    const runMs = new Map<string, number>([[quick.body.task_id, 25], [odd.body.task_id, 30 * 86_400_000]]);
    for (const job of jobs) {
      await a.complete(job, { run_ms: runMs.get(job.job_id) ?? 0 });
      await a.next("ack");
    }
    const done = await task(quick.body.task_id);
    expect(Date.parse(done.finished_at) - Date.parse(done.started_at)).toBe(25);
    expect(done.timings.run_ms).toBe(25);
    const skewed = await task(odd.body.task_id);
    expect(skewed.started_at).toBe(skewed.created_at);
  });

  it("refuses a second complete and any message from a stale lease: a job never succeeds twice", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit();
    const job = await a.next("job");
    await a.complete(job);
    await a.next("ack");
    // A resend (its ack was lost) is acknowledged again but applied only once.
    a.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [{ key: `out/${job.job_id}/${job.lease_id}/0`, content_type: "image/png", bytes: 1, filename: "late.png", node_id: "9" }] });
    expect((await a.next("ack")).of).toBe("complete");
    expect((await task(body.task_id)).result.outputs.map((o: Json) => o.filename)).toEqual([`${body.task_id}-0.png`]);
    a.send({ type: "fail", job_id: job.job_id, lease_id: "lse_0000000000000000", retryable: true, error: { code: "x", message: "y" } });
    expect((await a.next("error")).code).toBe("stale_lease");
    expect((await task(body.task_id)).status).toBe("SUCCESS");
  });

  it("re-queues an expired lease (attempt + 1) and fails after max_attempts with the cause", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    // The agent stays alive (heartbeats) but never renews the job's lease: each lease expires,
    // and its next heartbeat (proof of life after the expiry) brings the job back to it.
    const beat = setInterval(() => a.send({ type: "heartbeat", leases: [] }), 400);
    try {
      const { body } = await submit();
      for (let attempt = 1; attempt <= 3; attempt++) {
        const job = await a.next("job", 8000, (j) => j.job_id === body.task_id);
        expect(job.attempt).toBe(attempt);
      }
      await expect.poll(async () => (await task(body.task_id)).status, { timeout: 8000, interval: 200 }).toBe("FAILURE");
      const t = await task(body.task_id);
      expect(t.attempts).toBe(3);
      expect(t.error.code).toBe("lease_expired");
      expect(t.error.message).toContain("3 of 3");
    } finally {
      clearInterval(beat);
    }
  });

  it("keeps a lease alive with heartbeats past its TTL", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit();
    const job = await a.next("job");
    for (let i = 0; i < 6; i++) {
      a.send({ type: "heartbeat", leases: [{ job_id: job.job_id, lease_id: job.lease_id }] });
      await new Promise((r) => setTimeout(r, 600));
    }
    const t = await task(body.task_id);
    expect(t.state).toBe("leased");
    expect(t.attempts).toBe(1);
  });

  it("re-queues a retryable failure and fails a non-retryable one at once", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit();
    const first = await a.next("job");
    a.send({ type: "fail", job_id: first.job_id, lease_id: first.lease_id, retryable: true, error: { code: "comfyui_unavailable", message: "ComfyUI went away" } });
    await a.next("ack");
    // Not straight back to the rig that failed it; with no other agent, its next heartbeat brings it back.
    await expect(a.next("job", 300)).rejects.toThrow(/no job/);
    a.send({ type: "heartbeat", leases: [] });
    const second = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    expect(second.attempt).toBe(2);
    a.send({ type: "fail", job_id: second.job_id, lease_id: second.lease_id, retryable: false, error: { code: "execution_error", message: "boom", node_id: "3", node_type: "KSampler", exception_type: "RuntimeError" } });
    await a.next("ack", 5000, (m) => m.of === "fail" && m.lease_id === second.lease_id);
    const t = await task(body.task_id);
    expect(t).toMatchObject({ status: "FAILURE", attempts: 2, error: { code: "execution_error", node_id: "3", node_type: "KSampler" } });
  });

  it("sends the next job once the last one is uploading (no ComfyUI slot used), up to twice the agent's slots", async () => {
    const a = await agent();
    a.hello({ capacity: 1 });
    await a.next("welcome");
    for (let i = 0; i < 3; i++) await submit({ prompt: `upload overlap ${i}` });
    const first = await a.next("job");
    await expect(a.next("job", 300)).rejects.toThrow();
    a.send({ type: "progress", job_id: first.job_id, lease_id: first.lease_id, phase: "running", value: 1, max: 2, node: "3" });
    await expect(a.next("job", 300)).rejects.toThrow();
    a.send({ type: "progress", job_id: first.job_id, lease_id: first.lease_id, phase: "uploading", value: 0, max: 1 });
    const second = await a.next("job");
    expect(second.job_id).not.toBe(first.job_id);
    // Two leases held, one uploading: both limits are reached even when the second uploads too.
    a.send({ type: "progress", job_id: second.job_id, lease_id: second.lease_id, phase: "uploading", value: 0, max: 1 });
    await expect(a.next("job", 300)).rejects.toThrow();
    await a.complete(first);
    await a.next("ack");
    const third = await a.next("job");
    expect([first.job_id, second.job_id]).not.toContain(third.job_id);
  });

  it("gives a released lease back without counting an attempt", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit();
    const job = await a.next("job");
    a.send({ type: "pause" });
    a.send({ type: "release", job_id: job.job_id, lease_id: job.lease_id, reason: "draining" });
    await a.next("ack");
    const t = await task(body.task_id);
    expect(t).toMatchObject({ state: "queued", attempts: 0 });
  });

  it("sends cancel to the agent running a cancelled job, and acknowledges its late report", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const { body } = await submit();
    const job = await a.next("job");
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 1, max: 20 });
    expect((await call("DELETE", `/tasks/${body.task_id}`)).status).toBe(200);
    const cancel = await a.next("cancel");
    expect(cancel).toMatchObject({ job_id: job.job_id, lease_id: job.lease_id });
    a.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "cancelled", message: "interrupted" } });
    expect((await a.next("ack")).of).toBe("fail");
    expect((await task(body.task_id)).status).toBe("CANCELLED");
  });

  it("routes jobs only to agents that have the models, and says what a waiting job needs", async () => {
    const a = await agent();
    a.hello({ inventory: { checkpoints: ["something-else.safetensors"] } });
    await a.next("welcome");
    const { body } = await submit();
    await expect(a.next("job", 500)).rejects.toThrow(/no job/);
    const t = await task(body.task_id);
    expect(t.queue.waiting_for).toContain("v1-5-pruned-emaonly.safetensors");
    const b = await agent();
    // Room for a lease an earlier test's silent agent may hand back on expiry.
    b.hello({ capacity: 4 });
    await b.next("welcome");
    expect((await b.next("job", 5000, (j) => j.job_id === body.task_id)).job_id).toBe(body.task_id);
  });

  it("prefers the agent that ran the same model last", async () => {
    const warm = await agent();
    warm.hello({ inventory: { checkpoints: ["v1-5-pruned-emaonly.safetensors", "other.safetensors"], loras: ["Flux-Ghibli-Art-LoRA.safetensors"] } });
    await warm.next("welcome");
    await submit();
    const j1 = await warm.next("job");
    await warm.complete(j1);
    await warm.next("ack");
    const cold = await agent();
    cold.hello({ inventory: { checkpoints: ["v1-5-pruned-emaonly.safetensors", "other.safetensors"], loras: ["Flux-Ghibli-Art-LoRA.safetensors"] } });
    await cold.next("welcome");
    await submit();
    expect((await warm.next("job")).job_id).toBeTruthy();
  });

  it("refuses an upload with a tampered signature or a non-image type", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    await submit();
    const job = await a.next("job");
    const bad = await fetchUpload({ ...job.upload, sig: job.upload.sig.slice(0, -2) + (job.upload.sig.endsWith("AA") ? "BB" : "AA") }, 0, new Uint8Array([1]));
    expect(bad.status).toBe(403);
    const text = await fetchUpload(job.upload, 0, new Uint8Array([1]), "text/html");
    expect(text.status).toBe(415);
  });

  it("joins only pools the manifests name; hello must name the connect URL's pool", async () => {
    const res = await SELF.fetch(`http://edge.test/agent/connect?pool=xl&agent_id=a-xl`, { headers: { upgrade: "websocket", authorization: `Bearer ${TEST_KEYS.agent}` } });
    expect(res.status).toBe(404);
    expect((await call("GET", "/agents?pool=xl", "admin")).status).toBe(404);
    const hello = await agent({ pool: "default" });
    hello.hello({ pool: "xl" });
    expect((await hello.next("error")).message).toContain("must match the connect URL");
  });

  it("lets an admin drain an agent: it gets `drain` and no more jobs", async () => {
    const a = await agent();
    a.hello({ capacity: 4 });
    await a.next("welcome");
    const res = await call("POST", `/agents/${a.id}/drain`, "admin");
    expect(res.status).toBe(202);
    expect((await a.next("drain")).reason).toContain("admin");
    await submit({ prompt: "not for a draining agent" }, "alice", { priority: 100 });
    await expect(a.next("job", 500)).rejects.toThrow(/no job/);
    expect((await call("POST", "/agents/nobody/drain", "admin")).status).toBe(404);
  });

  it("lists agents and serves Prometheus metrics to admins", async () => {
    const a = await agent();
    a.hello();
    await a.next("welcome");
    const list = (await (await call("GET", "/agents", "admin")).json()) as Json;
    const me = list.agents.find((x: Json) => x.agent_id === a.id);
    expect(me).toMatchObject({ pool: "default", connected: true, gpu: { name: "Test GPU" } });
    const text = await (await call("GET", "/metrics", "admin")).text();
    expect(text).toContain('comfy_edge_agents_connected{pool="default"}');
    expect(text).toMatch(/comfy_edge_dispatch_latency_seconds_count\{pool="default"\} \d+/);
  });
});

async function fetchUpload(upload: { base_url: string; exp: number; sig: string }, index: number, bytes: Uint8Array, type = "image/png") {
  const { SELF } = await import("cloudflare:test");
  return SELF.fetch(`${upload.base_url}/${index}?exp=${upload.exp}&sig=${upload.sig}`, {
    method: "PUT",
    headers: { "content-type": type, "content-length": String(bytes.byteLength) },
    body: bytes,
  });
}

import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import type { JobQueue } from "./JobQueue.ts";
import { queueFor } from "./stub.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

// Jobs other files left queued (or put back when a closed agent's lease expired) would fill this file's agents first.
beforeEach(drainDefaultPool);

type Json = Record<string, any>;
const task = async (id: string, who: "alice" | "admin" = "admin") => call("GET", `/tasks/${id}`, who);

describe("the queue survives eviction (state in SQLite and socket attachments)", () => {
  it("keeps a queued job across an eviction", async () => {
    const { body } = await submit({ prompt: "survive", seed: 5 });
    await evictDurableObject(queueFor(env, "default"));
    const res = await task(body.task_id, "alice");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ task_id: body.task_id, seed: 5 });
  });

  it("still dispatches to an agent whose socket hibernated through the eviction", async () => {
    const a = await TestAgent.connect();
    a.hello({ capacity: 8 });
    await a.next("welcome");
    // Take (and finish) whatever earlier tests left queued, so the next job is ours.
    for (;;) {
      const j = await a.next("job", 300).catch(() => null);
      if (!j) break;
      a.send({ type: "fail", job_id: j.job_id, lease_id: j.lease_id, retryable: false, error: { code: "test", message: "cleared" } });
    }
    await evictDurableObject(queueFor(env, "default"));
    const { body } = await submit({ prompt: "after eviction" }, "alice", { priority: 100 });
    const job = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    await a.complete(job);
    await a.next("ack");
    expect(((await (await task(body.task_id)).json()) as Json).status).toBe("SUCCESS");
    a.close();
  });
});

describe("retention", () => {
  it("deletes a finished job and its R2 objects when its TTL passes, and its links stop working", async () => {
    const a = await TestAgent.connect();
    a.hello({ capacity: 8 });
    await a.next("welcome");
    const { body } = await submit({ prompt: "short-lived" }, "alice", { priority: 100 });
    // Attempt 1 uploads a file, then fails retryably; attempt 2 succeeds with its own file.
    const first = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    const orphan = `out/${first.job_id}/${first.lease_id}/0`;
    await env.FILES.put(orphan, new Uint8Array([9]));
    a.send({ type: "fail", job_id: first.job_id, lease_id: first.lease_id, retryable: true, error: { code: "comfyui_unavailable", message: "gone" } });
    await a.next("ack");
    a.send({ type: "heartbeat", leases: [] });
    const job = await a.next("job", 5000, (j) => j.job_id === body.task_id && j.attempt === 2);
    const { output } = await a.upload(job);
    const key = output.key;
    a.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [output] });
    await a.next("ack", 5000, (m) => m.of === "complete");
    a.close();
    // Objects from abandoned attempts go as soon as the job ends; its outputs stay.
    await expect.poll(async () => (await env.FILES.head(orphan)) === null).toBe(true);
    expect(await env.FILES.head(key)).not.toBeNull();
    const link = ((await (await task(body.task_id)).json()) as Json).result.download_url as string;

    const stub = queueFor(env, "default");
    await runInDurableObject(stub, (_q: JobQueue, state) => {
      state.storage.sql.exec(`UPDATE jobs SET expires_at = ? WHERE id = ?`, Date.now() - 1, body.task_id);
    });
    await runInDurableObject(stub, (_q: JobQueue, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await task(body.task_id)).status).toBe(404);
    expect(await env.FILES.head(key)).toBeNull();
    const u = new URL(link);
    expect((await call("GET", u.pathname + u.search, "none")).status).toBe(404);
  });

  it("never signs a link that outlives its file", async () => {
    const a = await TestAgent.connect();
    a.hello({ capacity: 8 });
    await a.next("welcome");
    const { body } = await submit({ prompt: "expiring" }, "alice", { priority: 100 });
    const job = await a.next("job", 5000, (j) => j.job_id === body.task_id);
    await a.complete(job);
    await a.next("ack");
    a.close();
    const soon = Date.now() + 60_000;
    await runInDurableObject(queueFor(env, "default"), (_q: JobQueue, state) => {
      state.storage.sql.exec(`UPDATE jobs SET expires_at = ? WHERE id = ?`, soon, body.task_id);
    });
    const view = (await (await task(body.task_id)).json()) as Json;
    expect(Date.parse(view.result.outputs[0].expires_at)).toBeLessThanOrEqual(soon);
  });
});

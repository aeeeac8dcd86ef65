import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { submit } from "../test/http.ts";
import { drainDefaultPool, keepAlive, succeed, task } from "../test/queue-driver.ts";
import type { JobQueue } from "./JobQueue.ts";
import { JobStore } from "./store.ts";
import { queueFor } from "./stub.ts";

const open: TestAgent[] = [];
const stops: (() => void)[] = [];

beforeEach(drainDefaultPool);
afterEach(async () => {
  while (stops.length) stops.pop()!();
  while (open.length) open.pop()!.close();
  await drainDefaultPool();
});

async function queue(who: "alice" | "bob" | "carol", prompt: string, priority = 80): Promise<string> {
  const { res, body } = await submit({ prompt }, who, { priority });
  expect(res.status).toBe(202);
  return body.task_id;
}

/** One agent with one slot runs whatever it is given; returns the order in which `ids` were dispatched. */
async function runInOrder(ids: string[]): Promise<string[]> {
  const a = await TestAgent.connect();
  open.push(a);
  a.hello({ capacity: 1 });
  await a.next("welcome");
  stops.push(keepAlive(a));
  const wanted = new Set(ids);
  const order: string[] = [];
  while (order.length < ids.length) {
    const job = await a.next("job", 10_000);
    if (wanted.has(job.job_id)) order.push(job.job_id);
    await succeed(a, job);
  }
  return order;
}

describe("fair share between keys within a priority (round-robin by start tags)", () => {
  it("a key with a deep backlog does not starve keys that queue one job later: keys take turns", async () => {
    const alice: string[] = [];
    for (let i = 0; i < 30; i++) alice.push(await queue("alice", `alice backlog ${i}`));
    const bob = await queue("bob", "bob's one job");
    const carol = await queue("carol", "carol's one job");
    const aliceLate = await queue("alice", "alice, one more");
    const bobSecond = await queue("bob", "bob's second job");

    // While waiting, positions already show dispatch order, not arrival.
    expect((await task(bob)).queue.position).toBe(2);
    expect((await task(carol)).queue.position).toBe(3);
    expect((await task(bobSecond)).queue.position).toBe(5);

    const order = await runInOrder([...alice, bob, carol, aliceLate, bobSecond]);
    // Round-robin: alice's oldest, then bob and carol (one each), then alice and bob take turns
    // while bob has jobs, then the rest of alice's backlog in its own FIFO order.
    expect(order.slice(0, 5)).toEqual([alice[0], bob, carol, alice[1], bobSecond]);
    expect(order.slice(5)).toEqual([...alice.slice(2), aliceLate]);
  });

  it("priority still comes first: a higher-priority job runs before every key's turn", async () => {
    const low: string[] = [];
    for (let i = 0; i < 3; i++) low.push(await queue("alice", `low ${i}`, 70));
    const high = await queue("bob", "urgent", 85);
    const order = await runInOrder([...low, high]);
    expect(order).toEqual([high, ...low]);
  });
});

describe("fair share at the store (no per-key cap in the way)", () => {
  it("a key with 10,000 queued jobs does not starve a key with one, and dispatch still walks one index", async () => {
    await runInDurableObject(queueFor(env, "fairness-test"), async (_instance: JobQueue, state) => {
      const sql = state.storage.sql;
      sql.exec(`DELETE FROM jobs`);
      const store = new JobStore(state.storage);
      const job = (id: string, owner: string) => ({
        id, owner, workflow_id: "txt2img", pool: "fairness-test", priority: 0, params_json: "{}", graph_json: "{}", models: [], inputs: [],
        seed: 1, output_format: "png" as const, quality: 90, timeout_s: 60, idem_key: null, idem_hash: null, webhook_url: null,
      });
      state.storage.transactionSync(() => {
        for (let i = 0; i < 10_000; i++) store.insert(job(`tsk_big${i}.fairness-test`, "big"), 3, i);
      });
      store.insert(job("tsk_small.fairness-test", "small"), 3, 10_000);
      const sigs = [store.get("tsk_small.fairness-test")!.models_sig];
      const first = store.nextFor(sigs)!;
      expect(first.id).toBe("tsk_big0.fairness-test");
      store.lease(first.id, "a", "lse_1", 1);
      expect(store.nextFor(sigs)!.id).toBe("tsk_small.fairness-test");
      expect(store.positionOf(store.get("tsk_small.fairness-test")!)).toBe(1);
      expect(store.positionOf(store.get("tsk_big1.fairness-test")!)).toBe(2);
      const plan = sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT seq FROM jobs WHERE state = 'queued' AND models_sig IN (?) AND id IS NOT ? ORDER BY priority DESC, fair_tag, seq LIMIT 1`, sigs[0]!, null)
        .toArray()
        .map((r) => r.detail)
        .join(" | ");
      expect(plan).toContain("jobs_queue");
      expect(plan).not.toContain("TEMP B-TREE");
      sql.exec(`DELETE FROM jobs`);
      sql.exec(`DELETE FROM job_payloads`);
    });
  });
});

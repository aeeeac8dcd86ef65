import { env, runInDurableObject } from "cloudflare:test";
import type { TaskView } from "../../shared/api.ts";
import type { ModelRef } from "../../shared/models.ts";
import type { ModelStore } from "../../shared/protocol.ts";
import { newTaskId } from "../ids.ts";
import type { JobQueue } from "../queue/JobQueue.ts";
import { queueFor } from "../queue/stub.ts";
import type { NewJob } from "../queue/types.ts";
import { TestAgent } from "./agent-socket.ts";

/** A model the bundled catalog (install/configs/models.ini) offers, and one it does not. */
export const FLUX_DEV: ModelRef = { folder: "unet", name: "flux1-dev-Q4_K_S.gguf" };
export const NOT_IN_CATALOG: ModelRef = { folder: "unet", name: "no-such-model-anywhere.gguf" };

export const roomyStore = (fetched: string[] = []): ModelStore => ({ free_bytes: 1e12, budget_bytes: null, fetched });

/**
 * A pool of its own for one test (models on demand): its own queue object, so no other test's
 * queued jobs or agents take part. Agents connect straight into it over the real protocol.
 */
export function fetchPool(name: string) {
  const pool = `${name}-${crypto.randomUUID().slice(0, 8)}`;
  const queue = queueFor(env, pool);
  const agents: TestAgent[] = [];
  return {
    pool,
    queue,
    async agent(hello: { inventory?: Record<string, string[]>; model_store?: ModelStore | null; capacity?: number } = {}): Promise<TestAgent> {
      const a = await TestAgent.connectToQueue(queue, pool);
      agents.push(a);
      a.hello({ pool, inventory: hello.inventory ?? {}, capacity: hello.capacity ?? 1, ...(hello.model_store === undefined ? {} : { model_store: hello.model_store }) });
      await a.next("welcome");
      return a;
    },
    async submit(models: ModelRef[]): Promise<string> {
      const job: NewJob = {
        id: newTaskId(pool), owner: "alice", workflow_id: "sd15_basic", pool, priority: 0, params_json: "{}",
        graph_json: '{"9":{"class_type":"SaveImage","inputs":{}}}', models, inputs: [], seed: 1, output_format: "png",
        quality: 90, timeout_s: 60, idem_key: null, idem_hash: null, webhook_url: null,
      };
      const res = await queue.enqueue(job);
      if (!res.ok) throw new Error(`enqueue refused: ${res.code} ${res.message}`);
      return res.value.task_id;
    },
    // Through the stub's RPC types a TaskView (its error's `details: unknown`) comes out as never.
    task: async (id: string) => (await queue.getTask(id, null)) as unknown as TaskView | null,
    /** Runs `fn` inside the queue object (a look at its tables, or a step the alarm takes). */
    inside: <T>(fn: (q: JobQueue) => T | Promise<T>) => runInDurableObject(queue, (q: JobQueue) => fn(q)),
    close() {
      while (agents.length) agents.pop()!.close();
    },
  };
}

/** Waits (bounded) until `probe` returns a value that is not null. */
export async function until<T>(probe: () => Promise<T | null> | T | null, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The first agent of `agents` to receive a `fetch` frame, with the frame. */
export async function firstFetch(agents: TestAgent[], ms = 5000) {
  return until(() => {
    for (const a of agents) {
      const i = a.received.findIndex((m) => m.type === "fetch");
      if (i >= 0) return { agent: a, fetch: a.received.splice(i, 1)[0] as Extract<TestAgent["received"][number], { type: "fetch" }> };
    }
    return null;
  }, "a fetch frame", ms);
}

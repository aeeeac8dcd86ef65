import { evictDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { FLUX_DEV, fetchPool, roomyStore, until } from "../test/fetch-pool.ts";
import { fetchBook } from "./model-fetch.ts";

const FLUX_URL = "https://huggingface.co/city96/FLUX.1-dev-gguf/resolve/main/flux1-dev-Q4_K_S.gguf";
const pools: ReturnType<typeof fetchPool>[] = [];
const newPool = (name: string) => {
  const p = fetchPool(name);
  pools.push(p);
  return p;
};
afterEach(() => {
  while (pools.length) pools.pop()!.close();
});

describe("models on demand: the edge has a rig fetch a catalog model no connected agent has", () => {
  it("asks the one agent with a model store, once for two jobs; shows the progress; runs both at once when it lands, with fetch_ms", async () => {
    const p = newPool("fetch-ok");
    const plain = await p.agent({ inventory: {} });
    const fetcher = await p.agent({ inventory: {}, model_store: roomyStore(), capacity: 2 });
    const first = await p.submit([FLUX_DEV]);

    const fetch = await fetcher.next("fetch");
    expect(fetch).toMatchObject({ model: { folder: "unet", name: FLUX_DEV.name }, url: FLUX_URL, sha256: null, bytes: null });
    const second = await p.submit([FLUX_DEV]);
    // The second job's look at the queue is done once its task reads back; one fetch in the table, one frame sent.
    await until(async () => ((await p.task(second))?.queue?.waiting_for?.includes("being fetched") ? true : null), "the second job waiting on the fetch");
    expect(await p.inside((q) => fetchBook(q).active().map((f) => [f.agent_id, f.model]))).toEqual([[fetcher.id, "unet/flux1-dev-Q4_K_S.gguf"]]);
    expect(fetcher.received.filter((m) => m.type === "fetch")).toEqual([]);
    expect(plain.received.filter((m) => m.type === "fetch")).toEqual([]);

    fetcher.send({ type: "fetch_progress", fetch_id: fetch.fetch_id, bytes: 41, total: 100 });
    const waiting = await until(async () => {
      const w = (await p.task(first))?.queue?.waiting_for ?? null;
      return w?.includes("41%") ? w : null;
    }, "41% in waiting_for");
    expect(waiting).toBe(`model ${FLUX_DEV.name} being fetched by ${fetcher.id} (41%)`);
    const during = (await p.queue.listAgents(p.pool)).find((a) => a.agent_id === fetcher.id)!;
    expect(during.fetches).toMatchObject([{ fetch_id: fetch.fetch_id, model: "unet/flux1-dev-Q4_K_S.gguf", bytes: 41, total: 100 }]);

    const landed = { unet: [FLUX_DEV.name] };
    const store = { free_bytes: 5e11, budget_bytes: null, fetched: [`unet/${FLUX_DEV.name}`] };
    fetcher.send({ type: "fetch_result", fetch_id: fetch.fetch_id, ok: true, bytes: 100, ms: 1234, inventory: landed, model_store: store });
    const leased = [await fetcher.next("job"), await fetcher.next("job")].map((j) => j.job_id).sort();
    expect(leased).toEqual([first, second].sort());

    for (const id of [first, second]) {
      const view = (await p.task(id))!;
      expect(view.state).toBe("leased");
      expect(view.timings.fetch_ms).toEqual(expect.any(Number));
      expect(view.timings.fetch_ms).toBeGreaterThanOrEqual(0);
    }
    const after = (await p.queue.listAgents(p.pool)).find((a) => a.agent_id === fetcher.id)!;
    expect(after).toMatchObject({ inventory: landed, model_store: store, fetches: [] });
    expect((await p.queue.listAgents(p.pool)).find((a) => a.agent_id === plain.id)).toMatchObject({ model_store: null, fetches: [] });
    await expect(p.queue.metrics(p.pool)).resolves.toMatchObject({ counters: { model_fetches_started: 1, model_fetches_done: 1 } });
  });

  it("never fetches a model a connected agent has on disk, even while that agent is busy", async () => {
    const p = newPool("fetch-busy");
    const holder = await p.agent({ inventory: { unet: [FLUX_DEV.name] } });
    const fetcher = await p.agent({ inventory: {}, model_store: roomyStore() });
    const running = await p.submit([FLUX_DEV]);
    await holder.next("job", 5000, (j) => j.job_id === running);
    const waiting = await p.submit([FLUX_DEV]);
    const view = await until(async () => ((await p.task(waiting))?.queue ? (await p.task(waiting))! : null), "the waiting job's view");
    expect(view.queue!.waiting_for).toBe("a free slot on 1 agent(s) able to run it");
    expect(await p.inside((q) => fetchBook(q).active())).toEqual([]);
    expect(fetcher.received.filter((m) => m.type === "fetch")).toEqual([]);
  });

  it("an agent with no model store is never asked; the job waits for one that has it", async () => {
    const p = newPool("fetch-nostore");
    const plain = await p.agent({ inventory: {}, model_store: null });
    const id = await p.submit([FLUX_DEV]);
    const view = await until(async () => (await p.task(id))?.queue ?? null, "the job's queue view");
    expect(view.waiting_for).toBe(`an agent with ${FLUX_DEV.name}`);
    expect(await p.inside((q) => fetchBook(q).active())).toEqual([]);
    expect(plain.received.filter((m) => m.type === "fetch")).toEqual([]);
    // Its model store arrives with an inventory message: now it is asked.
    plain.send({ type: "inventory", inventory: {}, model_store: roomyStore() });
    expect((await plain.next("fetch")).model.name).toBe(FLUX_DEV.name);
  });

  it("a fetch survives the queue's eviction: its progress and result still reach the waiting job", async () => {
    const p = newPool("fetch-evict");
    const fetcher = await p.agent({ model_store: roomyStore() });
    const id = await p.submit([FLUX_DEV]);
    const fetch = await fetcher.next("fetch");
    await evictDurableObject(p.queue);
    fetcher.send({ type: "fetch_progress", fetch_id: fetch.fetch_id, bytes: 5, total: 10 });
    await until(async () => ((await p.task(id))?.queue?.waiting_for?.endsWith("(50%)") ? true : null), "50% after the eviction");
    fetcher.send({ type: "fetch_result", fetch_id: fetch.fetch_id, ok: true, inventory: { unet: [FLUX_DEV.name] }, model_store: roomyStore([`unet/${FLUX_DEV.name}`]) });
    expect((await fetcher.next("job")).job_id).toBe(id);
  });
});

import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { FLUX_DEV, NOT_IN_CATALOG, fetchPool, firstFetch, roomyStore, until } from "../test/fetch-pool.ts";
import { fetchBook } from "./model-fetch.ts";
import { failHopelessJobs } from "./waiting.ts";

const pools: ReturnType<typeof fetchPool>[] = [];
const newPool = (name: string) => {
  const p = fetchPool(name);
  pools.push(p);
  return p;
};
afterEach(() => {
  while (pools.length) pools.pop()!.close();
});

const ended = (p: ReturnType<typeof fetchPool>, id: string) =>
  until(async () => {
    const view = await p.task(id);
    return view && view.state !== "queued" ? view : null;
  }, `job ${id} to end`);

describe("models on demand: fetches that fail", () => {
  it("a failed fetch tries another agent once, then fails the waiting jobs with model_unavailable naming the model and both reasons", async () => {
    const p = newPool("fetch-fail");
    const agents = [await p.agent({ model_store: roomyStore() }), await p.agent({ model_store: roomyStore() })];
    const jobs = [await p.submit([FLUX_DEV]), await p.submit([FLUX_DEV])];

    const one = await firstFetch(agents);
    one.agent.send({ type: "fetch_result", fetch_id: one.fetch.fetch_id, ok: false, error: { code: "checksum_mismatch", message: "sha256 differs from the pin" } });
    const two = await firstFetch(agents);
    expect(two.agent.id).not.toBe(one.agent.id);
    expect(two.fetch.model).toEqual(one.fetch.model);
    two.agent.send({ type: "fetch_result", fetch_id: two.fetch.fetch_id, ok: false, error: { code: "not_found", message: "404 from huggingface.co" } });

    for (const id of jobs) {
      const view = await ended(p, id);
      expect(view.state).toBe("failed");
      expect(view.error!.code).toBe("model_unavailable");
      expect(view.error!.message).toContain(FLUX_DEV.name);
      expect(view.error!.message).toContain("checksum_mismatch: sha256 differs from the pin");
      expect(view.error!.message).toContain("not_found: 404 from huggingface.co");
    }
    expect(agents.flatMap((a) => a.received.filter((m) => m.type === "fetch"))).toEqual([]);
    await expect(p.queue.metrics(p.pool)).resolves.toMatchObject({ counters: { model_fetches_started: 2, model_fetches_failed: 2, jobs_model_unavailable: 2 } });

    // Given up for those jobs only: a later job needing the model gets fresh tries.
    await p.submit([FLUX_DEV]);
    expect((await firstFetch(agents)).fetch.model.name).toBe(FLUX_DEV.name);
  });

  it("a failed fetch with no other agent to try fails the waiting job at once", async () => {
    const p = newPool("fetch-alone");
    const only = await p.agent({ model_store: roomyStore() });
    const id = await p.submit([FLUX_DEV]);
    const fetch = await only.next("fetch");
    only.send({ type: "fetch_result", fetch_id: fetch.fetch_id, ok: false, error: { code: "disk_full", message: "no space left on device" } });
    const view = await ended(p, id);
    expect(view.error).toMatchObject({ code: "model_unavailable", details: { model: `unet/${FLUX_DEV.name}` } });
    expect(view.error!.message).toContain("disk_full");
  });

  it("a fetch that makes progress is not timed out: each new byte count moves its deadline to MODEL_FETCH_TIMEOUT_S from then", async () => {
    const p = newPool("fetch-progressing");
    const only = await p.agent({ model_store: roomyStore() });
    await p.submit([FLUX_DEV]);
    const fetch = await only.next("fetch");
    const deadline = () => p.inside((q) => fetchBook(q).get(fetch.fetch_id)!.deadline);
    const first = await deadline();
    await new Promise((r) => setTimeout(r, 20));
    only.send({ type: "fetch_progress", fetch_id: fetch.fetch_id, bytes: 1_000, total: 10_000 });
    await until(async () => ((await deadline()) > first ? true : null), "the deadline to move");
    // The same count again (no bytes since) moves nothing.
    const moved = await deadline();
    await new Promise((r) => setTimeout(r, 20));
    only.send({ type: "fetch_progress", fetch_id: fetch.fetch_id, bytes: 1_000, total: 10_000 });
    only.send({ type: "heartbeat", leases: [] });
    await new Promise((r) => setTimeout(r, 100));
    expect(await deadline()).toBe(moved);
  });

  it("a fetch never answered past MODEL_FETCH_TIMEOUT_S counts as a failure: the other agent is asked", async () => {
    const p = newPool("fetch-timeout");
    const agents = [await p.agent({ model_store: roomyStore() }), await p.agent({ model_store: roomyStore() })];
    await p.submit([FLUX_DEV]);
    const silent = await firstFetch(agents);
    // Its deadline (MODEL_FETCH_TIMEOUT_S after the start) is brought to now; the queue's alarm takes it from there.
    await p.inside((q) => {
      expect(fetchBook(q).get(silent.fetch.fetch_id)!.deadline - fetchBook(q).get(silent.fetch.fetch_id)!.started_at).toBe(q.config.MODEL_FETCH_TIMEOUT_S * 1000);
      q.state.storage.sql.exec(`UPDATE model_fetches SET deadline = ? WHERE fetch_id = ?`, Date.now() - 1, silent.fetch.fetch_id);
      return q.state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(p.queue)).toBe(true);
    const next = await firstFetch(agents);
    expect(next.agent.id).not.toBe(silent.agent.id);
    const failures = await p.inside((q) => fetchBook(q).openFailures(`unet/${FLUX_DEV.name}`));
    expect(failures).toMatchObject([{ agent_id: silent.agent.id, state: "failed", error: expect.stringContaining("MODEL_FETCH_TIMEOUT_S") }]);
  });

  it("an agent that disconnects mid-fetch loses its fetch (no failure): another agent is asked", async () => {
    const p = newPool("fetch-gone");
    const agents = [await p.agent({ model_store: roomyStore() }), await p.agent({ model_store: roomyStore() })];
    await p.submit([FLUX_DEV]);
    const first = await firstFetch(agents);
    first.agent.close();
    const next = await firstFetch(agents.filter((a) => a !== first.agent));
    expect(next.fetch.model.name).toBe(FLUX_DEV.name);
    const row = await p.inside((q) => fetchBook(q).get(first.fetch.fetch_id));
    expect(row).toMatchObject({ state: "lost" });
    expect(await p.inside((q) => fetchBook(q).openFailures(`unet/${FLUX_DEV.name}`))).toEqual([]);
  });

  it("a fetch in progress keeps its jobs from no_capable_agent; a model not in the catalog waits and then falls to it after MAX_WAIT_S", async () => {
    const p = newPool("fetch-wait");
    const fetcher = await p.agent({ model_store: roomyStore() });
    const fetched = await p.submit([FLUX_DEV]);
    await fetcher.next("fetch");
    const unknown = await p.submit([NOT_IN_CATALOG]);
    await until(async () => (await p.task(unknown))?.queue ?? null, "the unknown model's job view");
    expect(await p.inside((q) => fetchBook(q).active().map((f) => f.model))).toEqual([`unet/${FLUX_DEV.name}`]);

    const start = Date.now();
    await p.inside((q) => failHopelessJobs(q, start, 60_000));
    const late = await p.inside((q) => failHopelessJobs(q, start + 61_000, 60_000).failed.map((j) => j.id));
    expect(late).toEqual([unknown]);
    expect((await p.task(unknown))!.error).toMatchObject({ code: "no_capable_agent" });
    expect((await p.task(fetched))!.state).toBe("queued");
  });
  it("a done fetch whose result carries no inventory is not a failure; the agent's next inventory lets the job run", async () => {
    const p = newPool("fetch-no-inventory");
    const only = await p.agent({ model_store: roomyStore() });
    const id = await p.submit([FLUX_DEV]);
    const fetch = await only.next("fetch");
    // ComfyUI did not answer in time for the agent to send its new inventory.
    only.send({ type: "fetch_result", fetch_id: fetch.fetch_id, ok: true, bytes: 100 });
    only.send({ type: "inventory", inventory: { unet: [FLUX_DEV.name] } });
    const job = await only.next("job");
    expect(job.job_id).toBe(id);
    expect((await p.task(id))!.state).not.toBe("failed");
  });

  it("a model fetched after a failure counts that failure no more: a later job's failed fetch is tried elsewhere first", async () => {
    const p = newPool("fetch-recovered");
    const agents = [await p.agent({ model_store: roomyStore() }), await p.agent({ model_store: roomyStore() })];
    await p.submit([FLUX_DEV]);
    const one = await firstFetch(agents);
    one.agent.send({ type: "fetch_result", fetch_id: one.fetch.fetch_id, ok: false, error: { code: "download_failed", message: "connection reset" } });
    const two = await firstFetch(agents);
    two.agent.send({ type: "fetch_result", fetch_id: two.fetch.fetch_id, ok: true, bytes: 100, inventory: { unet: [FLUX_DEV.name] } });
    await two.agent.next("job");
    // The file goes away again (evicted); the next job needs a fresh fetch, and its failure is the first that counts.
    two.agent.send({ type: "inventory", inventory: {} });
    const later = await p.submit([FLUX_DEV]);
    const three = await firstFetch(agents);
    three.agent.send({ type: "fetch_result", fetch_id: three.fetch.fetch_id, ok: false, error: { code: "download_failed", message: "connection reset" } });
    const four = await firstFetch(agents);
    expect(four.agent.id).not.toBe(three.agent.id);
    expect((await p.task(later))!.state).toBe("queued");
  });
});

import http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { undiciTransport } from "../../install/models/transport.ts";
import { makeBytes, sha256, startHub, type Hub } from "../../install/testing/hub-server.ts";
import type { AgentMessage, FetchMessage, FetchResult, ModelInventory } from "../../shared/protocol.ts";
import { until } from "../testing/until.ts";
import { ModelFetches } from "./fetches.ts";
import { recordsFile } from "./records.ts";
import { ModelStore } from "./store.ts";

const log = pino({ level: "silent" });
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** ComfyUI's view of a models folder: the files in each subfolder, hidden and `.part` files left out. */
function listModels(modelsDir: string): ModelInventory {
  const inventory: ModelInventory = {};
  for (const folder of readdirSync(modelsDir)) {
    const files = readdirSync(path.join(modelsDir, folder), { recursive: true, encoding: "utf8" })
      .filter((f) => !path.basename(f).startsWith(".") && !f.endsWith(".part") && statSync(path.join(modelsDir, folder, f)).isFile())
      .sort();
    if (files.length) inventory[folder] = files;
  }
  return inventory;
}

type Setup = {
  dir: string;
  modelsDir: string;
  stateDir: string;
  hub: Hub;
  sent: AgentMessage[];
  inUse: string[];
  refusal: { reason: string | null };
  store: ModelStore;
  fetches: ModelFetches;
  url(name: string): string;
  fetch(id: string, folder: string, name: string, file: string, extra?: Partial<FetchMessage>): void;
  result(id: string): Promise<FetchResult>;
  requestsFor(file: string): number;
};

let clock = 1_000;
async function setup(opts: { files: Record<string, Buffer>; budget?: number | null; pinned?: string[]; operator?: Record<string, Buffer>; dir?: string }): Promise<Setup> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "agent-models-"));
  if (!opts.dir) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const modelsDir = path.join(dir, "models");
  const stateDir = path.join(dir, "state");
  mkdirSync(modelsDir, { recursive: true });
  for (const [rel, bytes] of Object.entries(opts.operator ?? {})) {
    mkdirSync(path.dirname(path.join(modelsDir, rel)), { recursive: true });
    writeFileSync(path.join(modelsDir, rel), bytes);
  }
  const hub = await startHub([], opts.files);
  cleanups.push(() => hub.close());
  const store = await ModelStore.open({
    modelsDir,
    recordsFile: recordsFile(stateDir, "rig"),
    budgetBytes: opts.budget ?? null,
    pinned: opts.pinned ?? [],
    marginBytes: 0,
    now: () => ++clock,
    log,
  });
  const sent: AgentMessage[] = [];
  const inUse: string[] = [];
  const refusal = { reason: null as string | null };
  const transport = undiciTransport();
  const fetches = new ModelFetches({
    store,
    send: (m) => (sent.push(m), true),
    readInventory: async () => listModels(modelsDir),
    told: () => {},
    retell: () => {},
    refusal: () => refusal.reason,
    inUse: () => inUse,
    token: null,
    transport,
    attempts: 2,
    retryDelayMs: 1,
    log,
  });
  cleanups.push(async () => {
    await fetches.close();
    await transport.close();
    await store.flushed();
  });
  const url = (name: string) => `${hub.origin}/${name}`;
  return {
    dir, modelsDir, stateDir, hub, sent, inUse, refusal, store, fetches, url,
    fetch: (id, folder, name, file, extra = {}) => {
      const bytes = opts.files[file];
      fetches.handle({ type: "fetch", fetch_id: id, model: { folder, name }, url: url(file), sha256: bytes ? sha256(bytes) : null, bytes: bytes?.length ?? null, ...extra });
    },
    result: async (id) => {
      const found = () => sent.find((m): m is FetchResult => m.type === "fetch_result" && m.fetch_id === id);
      await until(`the result of ${id}`, () => found() !== undefined);
      return found() as FetchResult;
    },
    requestsFor: (file) => hub.requests.filter((r) => r.path === `/${file}`).length,
  };
}

const KB10 = () => makeBytes(10_000);

describe("ModelFetches", () => {
  test("a fetch downloads, verifies and places the model, reports progress, then the result with the new inventory and store", async () => {
    const lora = makeBytes(300_000);
    const s = await setup({ files: { "lora.safetensors": lora }, budget: 1_000_000 });
    s.fetch("f1", "loras", "Ghibli.safetensors", "lora.safetensors");
    const result = await s.result("f1");

    expect(result).toMatchObject({ ok: true, bytes: lora.length, inventory: { loras: ["Ghibli.safetensors"] } });
    expect(result.model_store).toMatchObject({ budget_bytes: 1_000_000, fetched: ["loras/Ghibli.safetensors"] });
    expect(result.model_store?.free_bytes).toBeGreaterThan(0);
    expect(readFileSync(path.join(s.modelsDir, "loras/Ghibli.safetensors")).equals(lora)).toBe(true);
    expect(readdirSync(path.join(s.modelsDir, "loras")).filter((f) => f.endsWith(".part"))).toEqual([]);
    const progress = s.sent.filter((m) => m.type === "fetch_progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ fetch_id: "f1", total: lora.length });
    expect(s.sent.indexOf(progress[0] as AgentMessage)).toBeLessThan(s.sent.indexOf(result));
    // At most one a second: the first at once, then one per second the download took.
    expect(progress.length).toBeLessThanOrEqual(1 + Math.ceil((result.ms ?? 0) / 1000));
  });

  test("a wrong sha256 fails with checksum_mismatch and leaves no file, .part or record behind", async () => {
    const s = await setup({ files: { "x.safetensors": KB10() } });
    s.fetch("f1", "loras", "x.safetensors", "x.safetensors", { sha256: "0".repeat(64) });
    const result = await s.result("f1");

    expect(result).toMatchObject({ ok: false, error: { code: "checksum_mismatch" }, model_store: { fetched: [] } });
    expect(result.error?.message).toMatch(/sha256/);
    expect(readdirSync(path.join(s.modelsDir, "loras"))).toEqual([]);
  });

  test("a URL the server does not have fails with not_found", async () => {
    const s = await setup({ files: {} });
    s.fetch("f1", "vae", "ae.safetensors", "missing.safetensors");
    expect(await s.result("f1")).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(s.requestsFor("missing.safetensors")).toBe(1);
  });

  test("410 Gone is not_found too; a server error, after the retries, is download_failed", async () => {
    const statuses: Record<string, number> = { "/gone.safetensors": 410, "/broken.safetensors": 503 };
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(statuses[req.url ?? ""] ?? 404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s = await setup({ files: {} });
    s.fetch("gone", "vae", "gone.safetensors", "x", { url: `${origin}/gone.safetensors` });
    s.fetch("broken", "vae", "broken.safetensors", "x", { url: `${origin}/broken.safetensors` });
    expect(await s.result("gone")).toMatchObject({ ok: false, error: { code: "not_found" } });
    const broken = await s.result("broken");
    expect(broken).toMatchObject({ ok: false, error: { code: "download_failed" } });
    expect(broken.error?.message).toContain("503");
    expect(seen.filter((u) => u === "/broken.safetensors")).toHaveLength(2);
    expect(readdirSync(path.join(s.modelsDir, "vae"))).toEqual([]);
  });

  test("two fetches of one model make one download, and both fetch ids get its result", async () => {
    const unet = makeBytes(500_000);
    const s = await setup({ files: { "flux.gguf": unet } });
    s.fetch("f1", "unet", "flux.gguf", "flux.gguf");
    s.fetch("f2", "diffusion_models", "flux.gguf", "flux.gguf");
    const [a, b] = [await s.result("f1"), await s.result("f2")];

    expect(a).toMatchObject({ ok: true, bytes: unet.length });
    expect(b).toMatchObject({ ok: true, bytes: unet.length });
    expect(s.requestsFor("flux.gguf")).toBe(1);
  });

  test("under a small budget the least recently used fetched model goes; pinned, operator and in-use files stay", async () => {
    const files = { "p.safetensors": KB10(), "a.safetensors": KB10(), "b.safetensors": KB10(), "c.safetensors": KB10(), "d.safetensors": KB10() };
    const s = await setup({ files, budget: 30_000, pinned: ["loras/p.safetensors"], operator: { "loras/mine.safetensors": makeBytes(50_000) } });
    for (const name of ["p", "a", "b"]) {
      s.fetch(name, "loras", `${name}.safetensors`, `${name}.safetensors`);
      expect(await s.result(name)).toMatchObject({ ok: true });
    }
    // A job starts with `a`: `b` is now the least recently used (the pinned `p` is older but stays).
    s.store.touch(["loras/a.safetensors"]);
    s.fetch("c", "loras", "c.safetensors", "c.safetensors");
    const c = await s.result("c");
    expect(c).toMatchObject({ ok: true, model_store: { fetched: ["loras/a.safetensors", "loras/c.safetensors", "loras/p.safetensors"] } });
    const told = s.sent.find((m) => m.type === "inventory");
    expect(told).toMatchObject({ model_store: { fetched: ["loras/a.safetensors", "loras/p.safetensors"] } });
    expect((told as { inventory: ModelInventory }).inventory.loras).not.toContain("b.safetensors");
    expect(s.sent.indexOf(told as AgentMessage)).toBeLessThan(s.sent.indexOf(c));

    // A held job uses `a` (the least recently used now): `c` goes instead.
    s.inUse.push("loras/a.safetensors");
    s.fetch("d", "loras", "d.safetensors", "d.safetensors");
    expect(await s.result("d")).toMatchObject({ ok: true, model_store: { fetched: ["loras/a.safetensors", "loras/d.safetensors", "loras/p.safetensors"] } });
    expect(readdirSync(path.join(s.modelsDir, "loras")).filter((f) => !f.startsWith(".")).sort()).toEqual([
      "a.safetensors",
      "d.safetensors",
      "mine.safetensors",
      "p.safetensors",
    ]);
  });

  test("a model under a nested alias section is keyed as the edge keys it: one fetch, listed, touched and held by any spelling", async () => {
    const files = { "x.gguf": KB10(), "y.gguf": KB10(), "z.gguf": KB10() };
    const s = await setup({ files, budget: 25_000, pinned: [] });
    // The catalog's section is `diffusion_models/sub`; a job's graph names `unet` with `sub/x.gguf`.
    s.fetch("x1", "diffusion_models/sub", "x.gguf", "x.gguf");
    s.fetch("x2", "unet", "sub/x.gguf", "x.gguf");
    expect(await s.result("x1")).toMatchObject({ ok: true, model_store: { fetched: ["unet/sub/x.gguf"] } });
    expect(await s.result("x2")).toMatchObject({ ok: true });
    expect(s.requestsFor("x.gguf")).toBe(1);
    s.fetch("y", "unet", "y.gguf", "y.gguf");
    expect(await s.result("y")).toMatchObject({ ok: true });
    // A held job names it as the protocol writes a job's models: `x` stays, `y` goes for `z`.
    s.inUse.push("Diffusion_Models/sub/x.gguf");
    s.fetch("z", "unet", "z.gguf", "z.gguf");
    expect(await s.result("z")).toMatchObject({ ok: true, model_store: { fetched: ["unet/sub/x.gguf", "unet/z.gguf"] } });
  });

  test("disk_full without a download when the size exceeds the free disk, or the budget even with every evictable model gone", async () => {
    const files = { "p.safetensors": KB10(), "a.safetensors": KB10(), "big.safetensors": makeBytes(20_000) };
    const s = await setup({ files, budget: 25_000, pinned: ["loras/p.safetensors"] });
    s.fetch("p", "loras", "p.safetensors", "p.safetensors");
    s.fetch("a", "loras", "a.safetensors", "a.safetensors");
    expect([await s.result("p"), await s.result("a")]).toMatchObject([{ ok: true }, { ok: true }]);

    s.fetch("big", "loras", "big.safetensors", "big.safetensors");
    const big = await s.result("big");
    expect(big).toMatchObject({ ok: false, error: { code: "disk_full" }, model_store: { fetched: ["loras/a.safetensors", "loras/p.safetensors"] } });
    expect(big.error?.message).toMatch(/budget/);

    s.fetch("huge", "loras", "huge.safetensors", "none.safetensors", { bytes: 2 ** 52 });
    expect(await s.result("huge")).toMatchObject({ ok: false, error: { code: "disk_full" } });
    expect(s.requestsFor("big.safetensors") + s.requestsFor("none.safetensors")).toBe(0);
    expect(existsSync(path.join(s.modelsDir, "loras/a.safetensors"))).toBe(true);
  });

  test("a model whose size comes only with the response is refused as disk_full when it cannot fit, and nothing of it stays", async () => {
    const s = await setup({ files: { "big.safetensors": makeBytes(40_000) }, budget: 25_000 });
    s.fetch("big", "loras", "big.safetensors", "big.safetensors", { bytes: null });
    expect(await s.result("big")).toMatchObject({ ok: false, error: { code: "disk_full" } });
    expect(readdirSync(path.join(s.modelsDir, "loras"))).toEqual([]);
  });

  test("a model of a size told by no one is checked against the budget once on disk: evicting older ones, or not kept at all", async () => {
    const bodies: Record<string, Buffer> = { "/small.safetensors": makeBytes(20_000), "/big.safetensors": makeBytes(40_000) };
    // Chunked answers: no Content-Length, so the size is known only at the end.
    const server = http.createServer((req, res) => {
      const body = bodies[req.url ?? ""];
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.write(body.subarray(0, 1000));
      res.end(body.subarray(1000));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s = await setup({ files: { "a.safetensors": KB10() }, budget: 25_000 });
    s.fetch("a", "loras", "a.safetensors", "a.safetensors");
    expect(await s.result("a")).toMatchObject({ ok: true });

    s.fetch("small", "loras", "small.safetensors", "x", { url: `${origin}/small.safetensors`, sha256: null, bytes: null });
    expect(await s.result("small")).toMatchObject({ ok: true, bytes: 20_000, model_store: { fetched: ["loras/small.safetensors"] } });
    s.fetch("big", "loras", "big.safetensors", "x", { url: `${origin}/big.safetensors`, sha256: null, bytes: null });
    expect(await s.result("big")).toMatchObject({ ok: false, error: { code: "disk_full" }, model_store: { fetched: ["loras/small.safetensors"] } });
    expect(readdirSync(path.join(s.modelsDir, "loras")).sort()).toEqual([".small.safetensors.download.json", "small.safetensors"]);
  });

  test("fetched models stay known (evictable) across a restart; operator files never become evictable", async () => {
    const files = { "a.safetensors": KB10(), "b.safetensors": KB10() };
    const dir = mkdtempSync(path.join(tmpdir(), "agent-models-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await setup({ files, dir, budget: 20_000, operator: { "loras/op.safetensors": KB10() } });
    first.fetch("a", "loras", "a.safetensors", "a.safetensors");
    expect(await first.result("a")).toMatchObject({ ok: true });
    await first.store.flushed();

    const second = await setup({ files, dir, budget: 20_000 });
    expect(await second.store.facts()).toMatchObject({ fetched: ["loras/a.safetensors"] });
    second.fetch("b", "loras", "b.safetensors", "b.safetensors");
    expect(await second.result("b")).toMatchObject({ ok: true, model_store: { fetched: ["loras/a.safetensors", "loras/b.safetensors"] } });
    // 20 kB fetched fill the budget: the next one evicts `a`, never the operator's `op`.
    second.fetch("a2", "loras", "a2.safetensors", "a.safetensors");
    expect(await second.result("a2")).toMatchObject({ ok: true, model_store: { fetched: ["loras/a2.safetensors", "loras/b.safetensors"] } });
    expect(existsSync(path.join(second.modelsDir, "loras/op.safetensors"))).toBe(true);
    expect(existsSync(path.join(second.modelsDir, "loras/a.safetensors"))).toBe(false);
  });

  test("an operator's file of that name is never replaced: kept when it matches the sha256, refused when it differs", async () => {
    const lora = KB10();
    const s = await setup({ files: { "x.safetensors": lora }, operator: { "loras/same.safetensors": lora, "loras/other.safetensors": KB10() } });
    s.fetch("same", "loras", "same.safetensors", "x.safetensors");
    s.fetch("other", "loras", "other.safetensors", "x.safetensors");
    expect(await s.result("same")).toMatchObject({ ok: true, bytes: lora.length, model_store: { fetched: [] } });
    expect(await s.result("other")).toMatchObject({ ok: false, error: { code: "refused" } });
    expect(readFileSync(path.join(s.modelsDir, "loras/other.safetensors")).equals(lora)).toBe(false);
    expect(s.requestsFor("x.safetensors")).toBe(0);
  });

  test("refused while the agent may not fetch, and for a name that would leave the models folder", async () => {
    const s = await setup({ files: { "x.safetensors": KB10() } });
    s.refusal.reason = "agent is draining";
    s.fetch("f1", "loras", "x.safetensors", "x.safetensors");
    expect(await s.result("f1")).toMatchObject({ ok: false, error: { code: "refused", message: "agent is draining" } });
    s.refusal.reason = null;
    s.fetch("f2", "loras", "../../escape.safetensors", "x.safetensors");
    s.fetch("f3", "../loras", "x.safetensors", "x.safetensors");
    expect([await s.result("f2"), await s.result("f3")]).toMatchObject([{ error: { code: "refused" } }, { error: { code: "refused" } }]);
    expect(s.requestsFor("x.safetensors")).toBe(0);
  });
  test("a fetch stopped because the agent stops gets no answer (the edge loses it with the socket, not as a failure of the model)", async () => {
    const s = await setup({ files: { "x.safetensors": makeBytes(8_000_000) } });
    s.fetch("f1", "loras", "x.safetensors", "x.safetensors");
    await s.fetches.close();
    expect(s.sent.filter((m) => m.type === "fetch_result")).toEqual([]);
    expect(listModels(s.modelsDir)).toEqual({});
  });
});

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CDN_HOST, COMMIT, HF_CDN_HOST, HUB_HOST, PLAIN_HOST, TOKEN, makeBytes, sha256, startHub, type Hub, type HubFile } from "../testing/hub-server.ts";
import { downloadModels, type DownloadModelsOptions, type FileOutcome } from "./index.ts";

let dir: string;
let hub: Hub | null = null;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "models-dl-"));
});
afterEach(async () => {
  await hub?.close();
  hub = null;
  rmSync(dir, { recursive: true, force: true });
});

const dest = () => path.join(dir, "models");
const hubUrl = (f: HubFile) => `https://${HUB_HOST}/${f.repo}/resolve/${f.revision}/${f.path}`;

async function run(configText: string, extra: Partial<DownloadModelsOptions> = {}) {
  if (!hub) throw new Error("start the hub first");
  return downloadModels({ configText, dest: dest(), hostMap: hub.hostMap, token: null, retryDelayMs: 1, attempts: 3, cwd: dir, ...extra });
}

function only(outcomes: FileOutcome[]): FileOutcome {
  expect(outcomes).toHaveLength(1);
  return outcomes[0] as FileOutcome;
}

describe("downloadModels", () => {
  it("downloads Hub files through the CDN redirect into <section>/<name>: case kept, every `_` line, revision recorded", async () => {
    const a: HubFile = { repo: "city96/FLUX.1-dev-gguf", revision: "main", path: "flux1-dev-Q4_K_S.gguf", bytes: makeBytes(300_000) };
    const b: HubFile = { repo: "city96/FLUX.1-dev-gguf", revision: "main", path: "flux1-dev-Q8_0.gguf", bytes: makeBytes(200_000) };
    const c: HubFile = { repo: "bfl/FLUX.1-dev", revision: "main", path: "text_encoder/model.safetensors", bytes: makeBytes(50_000) };
    hub = await startHub([a, b, c]);

    const summary = await run(`[unet]\n_ = ${hubUrl(a)}\n_ = ${hubUrl(b)}\n[clip]\nClip_L = ${hubUrl(c)}\n`);

    expect(summary.ok).toBe(true);
    expect(summary.outcomes.map((o) => [o.relPath, o.status])).toEqual([
      ["unet/flux1-dev-Q4_K_S.gguf", "downloaded"],
      ["unet/flux1-dev-Q8_0.gguf", "downloaded"],
      ["clip/Clip_L.safetensors", "downloaded"],
    ]);
    expect(readFileSync(path.join(dest(), "unet/flux1-dev-Q4_K_S.gguf")).equals(a.bytes)).toBe(true);
    expect(readFileSync(path.join(dest(), "unet/flux1-dev-Q8_0.gguf")).equals(b.bytes)).toBe(true);
    expect(readFileSync(path.join(dest(), "clip/Clip_L.safetensors")).equals(c.bytes)).toBe(true);
    const sidecar = JSON.parse(readFileSync(path.join(dest(), "clip/.Clip_L.safetensors.download.json"), "utf8"));
    expect(sidecar).toMatchObject({ state: "complete", revision: "main", commit: COMMIT, size: 50_000, sha256: sha256(c.bytes) });
    expect(readdirSync(path.join(dest(), "unet")).filter((n) => n.endsWith(".part"))).toEqual([]);
  });

  it("sends the token to huggingface.co only: not to the CDN it redirects to, not even an *.huggingface.co one", async () => {
    const files: HubFile[] = [
      { repo: "o/plain-cdn", revision: "main", path: "a.bin", bytes: makeBytes(10_000) },
      { repo: "o/hf-cdn", revision: "main", path: "b.bin", bytes: makeBytes(10_000), cdnHost: HF_CDN_HOST },
      { repo: "o/hop", revision: "main", path: "c.bin", bytes: makeBytes(10_000), relativeHop: true },
    ];
    hub = await startHub(files, { "d.bin": makeBytes(5_000) });

    const summary = await run(`[x]\n${files.map((f) => `_ = ${hubUrl(f)}`).join("\n")}\n_ = https://${PLAIN_HOST}/d.bin\n`, { token: TOKEN });

    expect(summary.ok).toBe(true);
    const hubRequests = hub.requests.filter((r) => r.host === HUB_HOST);
    const others = hub.requests.filter((r) => r.host !== HUB_HOST);
    expect(hubRequests.length).toBe(4);
    expect(hubRequests.some((r) => r.path.startsWith("/api/resolve-cache/"))).toBe(true);
    expect(hubRequests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(new Set(others.map((r) => r.host))).toEqual(new Set([CDN_HOST, HF_CDN_HOST, PLAIN_HOST]));
    expect(others.every((r) => r.authorization === null)).toBe(true);
  });

  it("a gated file fails with 401 and says to set HUGGINGFACE_TOKEN; with the token (from .env) it downloads", async () => {
    const gated: HubFile = { repo: "bfl/gated", revision: "main", path: "ae.safetensors", bytes: makeBytes(20_000), gated: true };
    hub = await startHub([gated]);
    const config = `[vae]\n_ = ${hubUrl(gated)}\n`;

    const denied = only((await run(config)).outcomes);
    expect(denied.status).toBe("failed");
    if (denied.status === "failed") {
      expect(denied.failure.code).toBe("unauthorized");
      expect(denied.failure.message).toContain("HUGGINGFACE_TOKEN");
      expect(denied.attempts).toBe(1);
    }
    expect(existsSync(path.join(dest(), "vae/ae.safetensors"))).toBe(false);

    writeFileSync(path.join(dir, ".env"), `# secrets\nHUGGINGFACE_TOKEN="${TOKEN}"\n`);
    const allowed = await downloadModels({ configText: config, dest: dest(), hostMap: hub.hostMap, retryDelayMs: 1, cwd: dir, env: {} });
    expect(only(allowed.outcomes).status).toBe("downloaded");
  });

  it("resumes with a Range request when the connection drops mid-file, in the same run", async () => {
    const big: HubFile = { repo: "o/r", revision: "main", path: "big.gguf", bytes: makeBytes(1_000_000) };
    hub = await startHub([big]);
    hub.dropNextAfter(big.bytes, 400_000);

    const outcome = only((await run(`[unet]\n_ = ${hubUrl(big)}\n`)).outcomes);

    expect(outcome.status).toBe("downloaded");
    if (outcome.status !== "downloaded") return;
    expect(outcome.attempts).toBe(2);
    expect(outcome.resumedFrom).toBeGreaterThan(0);
    const ranged = hub.requests.filter((r) => r.host === CDN_HOST && r.range !== null);
    expect(ranged.map((r) => r.range)).toEqual([`bytes=${outcome.resumedFrom}-`]);
    expect(readFileSync(outcome.path).equals(big.bytes)).toBe(true);
  });

  it("an interrupted run leaves <final>.part and the next run continues it instead of starting over", async () => {
    const big: HubFile = { repo: "o/r", revision: "main", path: "big.gguf", bytes: makeBytes(800_000) };
    hub = await startHub([big]);
    hub.dropNextAfter(big.bytes, 300_000);
    const config = `[unet]\n_ = ${hubUrl(big)}\n`;
    const final = path.join(dest(), "unet/big.gguf");

    const first = only((await run(config, { attempts: 1 })).outcomes);
    expect(first.status).toBe("failed");
    expect(existsSync(final)).toBe(false);
    const partSize = statSync(`${final}.part`).size;
    expect(partSize).toBeGreaterThan(0);

    const second = only((await run(config)).outcomes);
    expect(second).toMatchObject({ status: "downloaded", resumedFrom: partSize, attempts: 1 });
    expect(readFileSync(final).equals(big.bytes)).toBe(true);
    expect(existsSync(`${final}.part`)).toBe(false);
  });

  it("a checksum mismatch fails, keeps nothing in place and does not retry", async () => {
    const bytes = makeBytes(40_000);
    hub = await startHub([], { "lora.safetensors": bytes });
    const wrong = "0".repeat(64);

    const outcome = only((await run(`[loras]\nstyle = https://${PLAIN_HOST}/lora.safetensors#sha256=${wrong}\n`)).outcomes);

    expect(outcome.status).toBe("failed");
    if (outcome.status === "failed") {
      expect(outcome.failure.code).toBe("checksum_mismatch");
      expect(outcome.attempts).toBe(1);
    }
    expect(readdirSync(path.join(dest(), "loras"))).toEqual([]);
  });

  it("a size in models.ini (&size=) that the server contradicts fails without retrying or keeping anything; a right one downloads", async () => {
    const bytes = makeBytes(40_000);
    hub = await startHub([], { "lora.safetensors": bytes });

    const wrong = only((await run(`[loras]\nstyle = https://${PLAIN_HOST}/lora.safetensors#sha256=${sha256(bytes)}&size=39999\n`)).outcomes);
    expect(wrong).toMatchObject({ status: "failed", attempts: 1, failure: { code: "size_mismatch" } });
    expect(readdirSync(path.join(dest(), "loras"))).toEqual([]);

    const right = only((await run(`[loras]\nstyle = https://${PLAIN_HOST}/lora.safetensors#sha256=${sha256(bytes)}&size=40000\n`)).outcomes);
    expect(right).toMatchObject({ status: "downloaded", bytes: 40_000 });
  });

  it("a pin that contradicts the Hub's sha256 fails before downloading the body", async () => {
    const file: HubFile = { repo: "o/r", revision: "main", path: "m.gguf", bytes: makeBytes(30_000) };
    hub = await startHub([file]);

    const outcome = only((await run(`[unet]\n_ = ${hubUrl(file)}#sha256=${"f".repeat(64)}\n`)).outcomes);

    expect(outcome).toMatchObject({ status: "failed", failure: { code: "checksum_mismatch" } });
    expect(hub.requests.filter((r) => r.host === CDN_HOST)).toHaveLength(1);
    expect(existsSync(path.join(dest(), "unet/m.gguf"))).toBe(false);
  });

  it("never runs more downloads at once than the concurrency limit", async () => {
    const plain = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, makeBytes(50_000)]));
    hub = await startHub([], plain);
    hub.holdBodiesUntil(2, 50, 10_000);

    const summary = await run(`[x]\n${Object.keys(plain).map((name) => `_ = https://${PLAIN_HOST}/${name}`).join("\n")}\n`, { concurrency: 2 });

    expect(summary.ok).toBe(true);
    expect(summary.outcomes).toHaveLength(6);
    expect(hub.maxConcurrentBodies()).toBe(2);
  });

  it("--dry-run lists each final path and touches neither the network nor the disk", async () => {
    const file: HubFile = { repo: "o/r", revision: "v1.0", path: "m.gguf", bytes: makeBytes(1_000) };
    hub = await startHub([file]);

    const summary = await run(`[unet]\n_ = ${hubUrl(file)}\n[loras]\nMine = https://${PLAIN_HOST}/x.safetensors\n`, { dryRun: true });

    expect(summary.planned.map((p) => [p.path, p.revision, p.onDisk])).toEqual([
      [path.join(dest(), "unet/m.gguf"), "v1.0", "absent"],
      [path.join(dest(), "loras/Mine.safetensors"), null, "absent"],
    ]);
    expect(summary.outcomes).toEqual([]);
    expect(hub.requests).toEqual([]);
    expect(existsSync(dest())).toBe(false);
  });

  it("skips complete files on a re-run without a request, and fetches again when the revision changes", async () => {
    const v1: HubFile = { repo: "o/r", revision: "main", path: "m.gguf", bytes: makeBytes(20_000) };
    const v2: HubFile = { repo: "o/r", revision: COMMIT, path: "m.gguf", bytes: makeBytes(20_000) };
    hub = await startHub([v1, v2]);

    await run(`[unet]\n_ = ${hubUrl(v1)}\n`);
    const requestsAfterFirst = hub.requests.length;
    const again = only((await run(`[unet]\n_ = ${hubUrl(v1)}\n`)).outcomes);
    expect(again).toMatchObject({ status: "up_to_date", reason: "sidecar" });
    expect(hub.requests.length).toBe(requestsAfterFirst);

    const pinned = only((await run(`[unet]\n_ = ${hubUrl(v2)}\n`)).outcomes);
    expect(pinned.status).toBe("downloaded");
    expect(readFileSync(path.join(dest(), "unet/m.gguf")).equals(v2.bytes)).toBe(true);
  });

  it("adopts a file already in place when the Hub's sha256 vouches for it, without fetching the body", async () => {
    const file: HubFile = { repo: "o/r", revision: "main", path: "ae.safetensors", bytes: makeBytes(25_000) };
    hub = await startHub([file]);
    await mkdir(path.join(dest(), "vae"), { recursive: true });
    writeFileSync(path.join(dest(), "vae/ae.safetensors"), file.bytes);

    const outcome = only((await run(`[vae]\n_ = ${hubUrl(file)}\n`)).outcomes);

    expect(outcome).toMatchObject({ status: "up_to_date", reason: "hub_checksum" });
    const third = only((await run(`[vae]\n_ = ${hubUrl(file)}\n`)).outcomes);
    expect(third).toMatchObject({ status: "up_to_date", reason: "sidecar" });
  });

  it("reports a missing file as not_found after one attempt and keeps going with the others", async () => {
    const good: HubFile = { repo: "o/r", revision: "main", path: "ok.gguf", bytes: makeBytes(5_000) };
    hub = await startHub([good]);

    const summary = await run(`[unet]\n_ = https://${HUB_HOST}/o/r/resolve/main/missing.gguf\n_ = ${hubUrl(good)}\n`);

    expect(summary.ok).toBe(false);
    expect(summary.outcomes.map((o) => o.status)).toEqual(["failed", "downloaded"]);
    expect(summary.outcomes[0]).toMatchObject({ failure: { code: "not_found" }, attempts: 1 });
  });

  it("checks an unpinned Hub file against the Hub's sha256 and discards a corrupt download", async () => {
    const bytes = makeBytes(30_000);
    const corrupt = Buffer.from(bytes);
    corrupt[1234] = (corrupt[1234] ?? 0) ^ 0xff;
    const file: HubFile = { repo: "o/r", revision: "main", path: "m.gguf", bytes, cdnBytes: corrupt };
    hub = await startHub([file]);

    const outcome = only((await run(`[unet]\n_ = ${hubUrl(file)}\n`)).outcomes);

    expect(outcome).toMatchObject({ status: "failed", failure: { code: "checksum_mismatch" } });
    expect(readdirSync(path.join(dest(), "unet"))).toEqual([]);
  });

  it("a pinned file already in place is verified by its checksum without a request; a wrong one is replaced", async () => {
    const bytes = makeBytes(12_000);
    hub = await startHub([], { "p.safetensors": bytes });
    const config = `[loras]\n_ = https://${PLAIN_HOST}/p.safetensors#sha256=${sha256(bytes)}\n`;
    const final = path.join(dest(), "loras/p.safetensors");
    await mkdir(path.dirname(final), { recursive: true });

    writeFileSync(final, bytes);
    expect(only((await run(config)).outcomes)).toMatchObject({ status: "up_to_date", reason: "pinned_checksum" });
    expect(hub.requests).toEqual([]);

    rmSync(path.join(dest(), "loras/.p.safetensors.download.json"));
    writeFileSync(final, makeBytes(12_000));
    expect(only((await run(config)).outcomes)).toMatchObject({ status: "downloaded" });
    expect(readFileSync(final).equals(bytes)).toBe(true);
  });
});

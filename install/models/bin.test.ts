import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUB_HOST, PLAIN_HOST, makeBytes, startHub, type Hub, type HubFile } from "../testing/hub-server.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const node = path.join(root, "node_modules/.bin/node");
const bin = path.join(root, "install/models/bin.ts");

const file: HubFile = { repo: "o/r", revision: "main", path: "flux.gguf", bytes: makeBytes(70_000) };
const lora = makeBytes(30_000);
let hub: Hub;
let dir: string;

beforeAll(async () => {
  hub = await startHub([file], { "lora.safetensors": lora });
  dir = mkdtempSync(path.join(tmpdir(), "models-bin-"));
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const hostMap = Object.entries(hub.hostMap).flatMap(([host, origin]) => ["--host-map", `${host}=${origin}`]);
  return new Promise((resolve) => {
    execFile(node, [bin, ...hostMap, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "" }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function config(name: string, text: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
}

describe("npm run models", () => {
  it("exits 0 after downloading, with a line per file when not on a terminal", async () => {
    const ini = config("ok.ini", `[unet]\n_ = https://${HUB_HOST}/o/r/resolve/main/flux.gguf\n[loras]\nStyle = https://${PLAIN_HOST}/lora.safetensors\n`);
    const dest = path.join(dir, "ok-models");

    const result = await cli(["--config", ini, "--dest", dest, "--concurrency", "2"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("done   unet/flux.gguf");
    expect(result.stdout).toContain("done   loras/Style.safetensors");
    expect(result.stdout).toContain("2 downloaded, 0 already complete, 0 failed");
    expect(readFileSync(path.join(dest, "loras/Style.safetensors")).equals(lora)).toBe(true);

    const again = await cli(["--config", ini, "--dest", dest]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("0 downloaded, 2 already complete");
  });

  it("exits 1 with a summary naming what failed when a download fails", async () => {
    const ini = config("missing.ini", `[unet]\n_ = https://${HUB_HOST}/o/r/resolve/main/nope.gguf\n`);

    const result = await cli(["--config", ini, "--dest", path.join(dir, "missing-models")]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("These downloads failed:");
    expect(result.stderr).toMatch(/unet\/nope\.gguf: 404 from huggingface\.co/);
    expect(result.stderr).toContain("run again");
  });

  it("exits 2 naming the line of a bad config, and on a bad flag, downloading nothing", async () => {
    const ini = config("bad.ini", `_ = https://${PLAIN_HOST}/lora.safetensors\n[loras]\nx = https://huggingface.co/o/r/blob/main/x.safetensors\n`);
    const dest = path.join(dir, "bad-models");

    const bad = await cli(["--config", ini, "--dest", dest]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("line 1:");
    expect(bad.stderr).toContain("line 3:");
    expect(existsSync(dest)).toBe(false);

    expect((await cli(["--config", ini, "--concurrency", "0"])).code).toBe(2);
    expect((await cli(["--bogus"])).code).toBe(2);
    expect((await cli(["--config", path.join(dir, "absent.ini")])).stderr).toContain("cannot read");
  });

  it("--dry-run prints each final path and writes nothing", async () => {
    const ini = config("dry.ini", `[unet]\n_ = https://${HUB_HOST}/o/r/resolve/main/flux.gguf\n[loras]\nStyle = https://${PLAIN_HOST}/lora.safetensors\n`);
    const dest = path.join(dir, "dry-models");
    const before = hub.requests.length;

    const result = await cli(["--config", ini, "--dest", dest, "--dry-run"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would write ${path.join(dest, "unet/flux.gguf")}`);
    expect(result.stdout).toContain("(revision main)");
    expect(result.stdout).toContain(`would write ${path.join(dest, "loras/Style.safetensors")}`);
    expect(existsSync(dest)).toBe(false);
    expect(hub.requests.length).toBe(before);
  });
});

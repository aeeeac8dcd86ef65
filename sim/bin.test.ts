import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("./bin.ts", import.meta.url));

function run(args: string[]): { lines: Promise<string>; exit: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const lines = new Promise<string>((resolve) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes("\n")) resolve(out);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { lines, exit, kill: () => child.kill("SIGTERM") };
}

describe("sim/bin.ts", () => {
  it("prints its URL when ready and serves ComfyUI's routes there", async () => {
    const sim = run(["--port", "0", "--step-ms", "0", "--error-rate", "0.1", "--seed", "3"]);
    const line = await sim.lines;
    const url = /sim listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
    expect(url).toBeDefined();
    const stats = (await (await fetch(`${url}/system_stats`)).json()) as { devices: { name: string }[] };
    expect(stats.devices[0]?.name).toContain("NVIDIA Sim GPU");
    sim.kill();
    expect(await sim.exit).toBe(0);
  });

  it("exits 2 with the usage on a bad flag value", async () => {
    const sim = run(["--crash-rate", "3"]);
    expect(await sim.lines).toContain("--crash-rate must be between 0 and 1");
    expect(await sim.exit).toBe(2);
  });

  it("refuses an unknown --preview-method, naming the choices", async () => {
    const sim = run(["--preview-method", "fancy"]);
    expect(await sim.lines).toContain('--preview-method must be one of none, auto, latent2rgb, taesd, got "fancy"');
    expect(await sim.exit).toBe(2);
  });

  it("takes a models folder on disk (--models-dir) and extra node classes (--extra-nodes a,b)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sim-bin-models-"));
    mkdirSync(path.join(dir, "loras"));
    writeFileSync(path.join(dir, "loras", "mine.safetensors"), "x");
    const sim = run(["--port", "0", "--models-dir", dir, "--extra-nodes", "SharpenPlus, GrainPlus"]);
    try {
      const url = /sim listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(await sim.lines)?.[1];
      expect(await (await fetch(`${url}/models/loras`)).json()).toEqual(["mine.safetensors"]);
      expect(await (await fetch(`${url}/models/checkpoints`)).json()).toEqual([]);
      const info = (await (await fetch(`${url}/object_info`)).json()) as Record<string, unknown>;
      expect(Object.keys(info)).toEqual(expect.arrayContaining(["SharpenPlus", "GrainPlus"]));
    } finally {
      sim.kill();
      await sim.exit;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 when an extra node class is one the sim already has", async () => {
    const sim = run(["--port", "0", "--extra-nodes", "KSampler"]);
    expect(await sim.lines).toContain('"KSampler" is one of the sim\'s own node classes');
    expect(await sim.exit).toBe(2);
  });
});

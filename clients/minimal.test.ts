import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../scripts/local/stack.ts";
import { ComfyEdgeClient } from "./sdk/client.ts";
import { decodePng } from "./testing/png.ts";
import { MINIMAL, minimal, start } from "./testing/spawn.ts";
import { startClientStack } from "./testing/stack.ts";

// The zero-dependency client against the real stack (edge + sim + agent).
let stack: Stack;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  stack = await startClientStack();
  env = { COMFY_EDGE_URL: stack.edge.url, COMFY_EDGE_API_KEY: stack.keys.client };
  dir = await mkdtemp(join(tmpdir(), "comfy-minimal-"));
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const job = ["--workflow", "sd15_basic", "--set", "width=64", "--set", "height=64", "--interval", "0.05"];

describe("minimal.mjs", () => {
  it("imports nothing but node: built-ins", async () => {
    const source = await readFile(MINIMAL, "utf8");
    const specifiers = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.every((s) => s.startsWith("node:"))).toBe(true);
  });

  it("a short job comes back finished from the submit itself (Prefer: wait): task, SUCCESS, then the download URL; exit 0", async () => {
    const r = await minimal([...job, "--prompt", "a red fox", "--set", "steps=6"], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^task tsk_\S+$/);
    const states = lines.slice(1).filter((l) => !l.startsWith("url ")).map((l) => l.split(" ")[0]);
    expect(states).toEqual(["SUCCESS"]);
    expect(lines).toContain("SUCCESS 100%");
    const url = lines.find((l) => l.startsWith("url "))!.slice(4);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    decodePng(Buffer.from(await res.arrayBuffer()));
  });

  it("with --wait 0 it answers at once and polls: each state change printed once, SUCCESS last", async () => {
    const r = await minimal([...job, "--wait", "0", "--prompt", "polled", "--set", "steps=20"], env);
    expect(r.code, r.stderr).toBe(0);
    const states = r.stdout.trim().split("\n").slice(1).filter((l) => !l.startsWith("url ")).map((l) => l.split(" ")[0]);
    expect(states.length).toBeGreaterThan(1);
    expect(new Set(states).size).toBe(states.length);
    expect(states.at(-1)).toBe("SUCCESS");
  });

  it("saves the outputs with --out", async () => {
    const out = join(dir, "saved");
    const r = await minimal([...job, "--prompt", "saved", "--set", "steps=2", "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    const saved = [...r.stdout.matchAll(/^saved (.+)$/gm)].map((m) => m[1]!);
    expect(saved.length).toBeGreaterThan(0);
    for (const p of saved) expect(decodePng(await readFile(p))).toEqual({ width: 64, height: 64 });
  });

  it("exits 1 when the job fails or is cancelled", async () => {
    stack.sims[0]!.setFaults({ errorRate: 1, seed: 1 });
    try {
      const failed = await minimal([...job, "--prompt", "doomed", "--set", "steps=2"], env);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/^FAILURE$/m);
      expect(failed.stderr).toMatch(/^error \S+: ./m);
    } finally {
      stack.sims[0]!.setFaults({ errorRate: 0 });
    }
    const child = start([MINIMAL, ...job, "--wait", "0", "--prompt", "long", "--set", "steps=100"], env);
    await child.waitFor(/^task (tsk_\S+)$/m);
    const id = /^task (tsk_\S+)$/m.exec(child.stdout())![1]!;
    await new ComfyEdgeClient({ url: stack.edge.url, apiKey: stack.keys.client }).cancel(id);
    const cancelled = await child.done;
    expect(cancelled.code).toBe(1);
    expect(cancelled.stdout).toMatch(/^CANCELLED$/m);
  });

  it("exits 2 on usage and request errors: bad flag, no key, invalid params, bad key, no server", async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [["--bogus"], env, /Unknown option/],
      [["--prompt", "x"], { COMFY_EDGE_URL: env.COMFY_EDGE_URL }, /--key/],
      [[...job, "--set", "steps=3.9"], env, /invalid_params(?=[\s\S]*params\.steps \(integer\): \S)(?=[\s\S]*params\.prompt \(required\): \S)/],
      [["--prompt", "x"], { ...env, COMFY_EDGE_API_KEY: "wrong-key-0000000000" }, /unauthorized/],
      [["--prompt", "x"], { ...env, COMFY_EDGE_URL: "http://127.0.0.1:9" }, /failed/],
    ];
    for (const [args, e, message] of cases) {
      const r = await minimal(args, e);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

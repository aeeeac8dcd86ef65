import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../scripts/local/stack.ts";
import { ComfyEdgeClient } from "../sdk/client.ts";
import { decodePng, gradientPng } from "../testing/png.ts";
import { CLI_BIN, cli, start } from "../testing/spawn.ts";
import { startClientStack } from "../testing/stack.ts";

// Edge + sim + agent: `comfy-gen run` end to end, in a pipe and in a real terminal (pty).
let stack: Stack;
let env: Record<string, string>;
let sdk: ComfyEdgeClient;
let dir: string;

beforeAll(async () => {
  stack = await startClientStack();
  env = { COMFY_EDGE_URL: stack.edge.url, COMFY_EDGE_API_KEY: stack.keys.client };
  sdk = new ComfyEdgeClient({ url: stack.edge.url, apiKey: stack.keys.client });
  dir = await mkdtemp(join(tmpdir(), "comfy-cli-"));
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const small = ["--workflow", "sd15_basic", "--set", "width=64", "--set", "height=64"];
const savedPaths = (stdout: string) => [...stdout.matchAll(/^saved (.+\.png)$/gm)].map((m) => m[1]!);
const taskIdIn = (text: string) => /tsk_[0-9a-z]{20}\.[a-z0-9_-]+/.exec(text)?.[0];

describe("comfy-gen run against the real stack", () => {
  it("runs to SUCCESS with one plain line per event and saves a PNG that decodes", async () => {
    const out = join(dir, "plain");
    const r = await cli(["run", ...small, "--prompt", "a red fox", "--set", "steps=6", "--seed", "42", "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^submitted tsk_\S+ workflow=sd15_basic seed=42$/m);
    expect(r.stdout).toMatch(/^status PROGRESS$/m);
    expect(r.stdout).toMatch(/^progress \d+% KSampler step \d+\/6$/m);
    expect(r.stdout).toMatch(/^progress 100% done$/m);
    expect(r.stdout).toMatch(/^finished SUCCESS in /m);
    const percents = [...r.stdout.matchAll(/^progress (\d+)%/gm)].map((m) => Number(m[1]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const paths = savedPaths(r.stdout);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) {
      expect(p.startsWith(out)).toBe(true);
      expect(decodePng(await readFile(p))).toEqual({ width: 64, height: 64 });
    }
  });

  it("prints one JSON object with --json, files included", async () => {
    const r = await cli(["run", ...small, "--prompt", "json", "--set", "steps=2", "--out", join(dir, "json"), "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { status: string; files: string[]; task: { result: { outputs: unknown[] } } };
    expect(body.status).toBe("SUCCESS");
    expect(body.files).toHaveLength(body.task.result.outputs.length);
    for (const f of body.files) decodePng(await readFile(f));
  });

  it("comfy-gen jobs lists this key's jobs newest first: a table in a pipe's plain lines, JSON with --json, and a next-page hint", async () => {
    const done = JSON.parse((await cli(["run", ...small, "--prompt", "listed", "--set", "steps=2", "--out", join(dir, "listed"), "--json"], env)).stdout) as { task_id: string };
    const plain = await cli(["jobs", "--limit", "1"], env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^${done.task_id.replace(".", "\\.")}\tSUCCESS\tsd15_basic\t`, "m"));
    expect(plain.stdout).toMatch(/^more: comfy-gen jobs --cursor \S+ --limit 1$/m);
    const json = JSON.parse((await cli(["jobs", "--status", "success", "--json"], env)).stdout) as { jobs: { task_id: string; status: string }[] };
    expect(json.jobs.map((j) => j.task_id)).toContain(done.task_id);
    expect(json.jobs.every((j) => j.status === "SUCCESS")).toBe(true);
    const bad = await cli(["jobs", "--status", "DONE"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/status/);
  });

  it("runs a raw graph file (--graph) to SUCCESS on the sim and saves its PNG", async () => {
    const graph = JSON.parse(await readFile(join(import.meta.dirname, "../../manifests/workflows/sd15_basic.json"), "utf8")) as Record<string, { inputs: Record<string, unknown> }>;
    // As ComfyUI would, the sim refuses the manifest's LoRA placeholder ("None"): the graph goes without it.
    delete graph["10"];
    for (const id of ["6", "7"]) graph[id]!.inputs.clip = ["4", 1];
    Object.assign(graph["5"]!.inputs, { width: 64, height: 64 });
    Object.assign(graph["3"]!.inputs, { steps: 3, seed: 7, model: ["4", 0] });
    graph["6"]!.inputs.text = "a raw fox";
    const file = join(dir, "prompt.json");
    await writeFile(file, JSON.stringify(graph));
    const out = join(dir, "raw");
    const r = await cli(["run", "--graph", file, "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^submitted tsk_\S+ workflow=\(raw graph\) seed=-$/m);
    expect(r.stdout).toMatch(/^finished SUCCESS in /m);
    const paths = savedPaths(r.stdout);
    expect(paths.length).toBe(1);
    expect(decodePng(await readFile(paths[0]!))).toEqual({ width: 64, height: 64 });
    const task = await sdk.get(taskIdIn(r.stdout)!);
    expect(task).toMatchObject({ status: "SUCCESS", workflow_id: null });
  });

  it("uploads --image and passes it as the workflow's image parameter", async () => {
    const input = join(dir, "input.png");
    await writeFile(input, gradientPng(64, 64));
    const r = await cli(["run", "--workflow", "sd15_img2img", "--prompt", "redraw", "--set", "steps=2", "--image", input, "--out", join(dir, "img2img")], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`uploading ${input}`);
    expect(savedPaths(r.stdout).length).toBeGreaterThan(0);
  });

  it("exits 1 when the job fails, showing ComfyUI's error", async () => {
    stack.sims[0]!.setFaults({ errorRate: 1, seed: 1 });
    try {
      const r = await cli(["run", ...small, "--prompt", "doomed", "--set", "steps=2", "--out", join(dir, "fail")], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^finished FAILURE: \S+: ./m);
      expect(savedPaths(r.stdout)).toEqual([]);
    } finally {
      stack.sims[0]!.setFaults({ errorRate: 0 });
    }
  });

  it("on Ctrl-C while the job runs, cancels it and exits 130", async () => {
    const child = start([CLI_BIN, "run", ...small, "--prompt", "long", "--set", "steps=100", "--out", join(dir, "int")], env);
    await child.waitFor(/^status PROGRESS$/m);
    child.child.kill("SIGINT");
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Interrupted; task tsk_\S+ cancelled/);
    expect((await sdk.get(taskIdIn(r.stdout)!)).status).toBe("CANCELLED");
  });

  it("draws the task panel and a live progress bar in a real terminal", async () => {
    // Python's pty module gives the CLI a real terminal (isTTY, no window size: COLUMNS stands in).
    const ptyRun = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";
    const out = join(dir, "tty");
    const proc = spawn("python3", ["-c", ptyRun, process.execPath, CLI_BIN, "run", ...small, "--prompt", "in a terminal", "--set", "steps=10", "--out", out], {
      env: { ...process.env, ...env, COLUMNS: "100", TERM: "xterm-256color", NO_COLOR: undefined, FORCE_COLOR: undefined },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let screen = "";
    proc.stdout.on("data", (d: Buffer) => (screen += d.toString()));
    const killer = setTimeout(() => proc.kill("SIGKILL"), 45_000);
    const code = await new Promise<number | null>((r) => proc.once("close", r));
    clearTimeout(killer);
    const text = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "");
    expect(code, text).toBe(0);
    expect(screen).toMatch(/\x1b\[3\dm/); // coloured: a terminal, not a pipe
    expect(text).toMatch(/┌─+┐/);
    expect(text).toMatch(/│ comfy-gen\s+│/);
    expect(text).toMatch(/│ Task\s+│ tsk_[0-9a-z]{20}\.default\s+│/);
    expect(text).toMatch(/│ Prompt\s+│ in a terminal\s+│/);
    const frames = text.match(/[█░]{28}\s+\d+% \| [^|]+ \| [A-Z]+[^|]* \| elapsed \d+:\d\d \| ETA (\d+:\d\d|-:--)/g) ?? [];
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames[0]).toContain("PENDING");
    expect(frames.at(-1)).toMatch(/█{28}\s+100% .*SUCCESS/);
    expect(text).toMatch(/✔ SUCCESS in /);
    expect(text).toMatch(/saved .+\.png/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEdge, type LocalEdge } from "../../scripts/local/edge.ts";
import { ComfyEdgeClient } from "../sdk/client.ts";
import { testKeys } from "../testing/keys.ts";
import { CLI_BIN, cli, start } from "../testing/spawn.ts";

// The edge alone (no agent): jobs stay PENDING, which is all these exit paths need.
const keys = testKeys();
let edge: LocalEdge;
let env: Record<string, string>;
let sdk: ComfyEdgeClient;

beforeAll(async () => {
  edge = await startLocalEdge({ keys });
  env = { COMFY_EDGE_URL: edge.url, COMFY_EDGE_API_KEY: keys.client };
  sdk = new ComfyEdgeClient({ url: edge.url, apiKey: keys.client });
});
afterAll(() => edge?.close());

const taskIdIn = (text: string) => /tsk_[0-9a-z]{20}\.[a-z0-9_-]+/.exec(text)?.[0];

describe("comfy-gen exit codes and messages", () => {
  it("exits 2 on invalid parameters and shows each field error: path, rule, message", async () => {
    const r = await cli(["run", "--workflow", "sd15_basic", "--set", "steps=3.9", "--set", 'width="512"', "--set", "bogus=1"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid_params");
    expect(r.stderr).toMatch(/params\.steps\s+integer\s+\S/);
    expect(r.stderr).toMatch(/params\.width\s+type\s+\S/);
    expect(r.stderr).toMatch(/params\.bogus\s+unknown\s+\S/);
    expect(r.stderr).toMatch(/params\.prompt\s+required\s+\S/);
  });

  it("exits 2 on usage errors before any request: unknown flag, bad --set, bad --format, no command", async () => {
    for (const args of [["run", "--promt", "x"], ["run", "--set", "novalue"], ["run", "--prompt", "x", "--format", "gif"], ["frobnicate"], []]) {
      const r = await cli(args, env);
      expect(r.code, args.join(" ")).toBe(2);
    }
    const r = await cli(["run", "--set", "novalue"], env);
    expect(r.stderr).toContain('--set "novalue" must look like name=value');
  });

  it("exits 3 on a bad key and on a missing key, saying how to fix it", async () => {
    const bad = await cli(["list"], { ...env, COMFY_EDGE_API_KEY: "wrong-key-0000000000" });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("unauthorized");
    expect(bad.stderr).toContain("--key");
    const missing = await cli(["list", "--url", edge.url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("COMFY_EDGE_API_KEY");
  });

  it("exits 2 when the server cannot be reached", async () => {
    const r = await cli(["list"], { ...env, COMFY_EDGE_URL: "http://127.0.0.1:9" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--url");
  });

  it("exits 4 on --timeout and cancels the job it gave up on", async () => {
    const r = await cli(["run", "--workflow", "sd15_basic", "--prompt", "never runs", "--timeout", "1"], env);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("Timed out");
    const id = taskIdIn(r.stdout);
    expect(id).toBeDefined();
    expect((await sdk.get(id!)).status).toBe("CANCELLED");
  });

  it("on Ctrl-C cancels the job, then exits 130", async () => {
    const child = start([CLI_BIN, "run", "--workflow", "sd15_basic", "--prompt", "interrupt me"], env);
    await child.waitFor(/status PENDING/);
    child.child.kill("SIGINT");
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/Interrupted; task tsk_\S+ cancelled/);
    expect((await sdk.get(taskIdIn(r.stdout)!)).status).toBe("CANCELLED");
  });

  it("prints errors as JSON with --json", async () => {
    const r = await cli(["run", "--workflow", "sd15_basic", "--set", "steps=0", "--prompt", "x", "--json"], env);
    expect(r.code).toBe(2);
    const body = JSON.parse(r.stdout) as { error: { code: string; details: { path: string; rule: string }[]; exit_code: number } };
    expect(body.error.code).toBe("invalid_params");
    expect(body.error.details).toContainEqual(expect.objectContaining({ path: "params.steps", rule: "min" }));
    expect(body.error.exit_code).toBe(2);
  });
});

describe("comfy-gen list, status, cancel", () => {
  it("lists workflows and LoRAs with trigger words, as lines and as JSON", async () => {
    const plain = await cli(["list"], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^workflow sd15_basic\trequired=prompt\tagents=\d+\t/m);
    expect(plain.stdout).toMatch(/^lora Flux-Ghibli-Art-LoRA\.safetensors\ttrigger=Ghibli Art, …/m);
    expect(plain.stdout).toMatch(/^lora Flux-Scenery-LoRA\.safetensors\ttrigger=…, scenery style/m);
    const json = await cli(["list", "--json"], env);
    const body = JSON.parse(json.stdout) as { workflows: { id: string }[]; loras: { name: string }[] };
    expect(body.workflows.map((w) => w.id)).toContain("flux_default");
    expect(body.loras.length).toBeGreaterThan(0);
  });

  it("shows a task's status, cancels it, and exits 2 on a second cancel", async () => {
    const job = await sdk.submit({ workflow_id: "sd15_basic", params: { prompt: "status me", seed: 7 } });
    const status = await cli(["status", job.task_id], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Task: ${job.task_id}`);
    expect(status.stdout).toContain("Status: PENDING");
    expect(status.stdout).toContain("Seed: 7");
    const cancel = await cli(["cancel", job.task_id], env);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`${job.task_id} CANCELLED`);
    const again = await cli(["cancel", job.task_id], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("not_cancellable");
    const json = await cli(["status", job.task_id, "--json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ task_id: job.task_id, status: "CANCELLED" });
    const unknown = await cli(["status", "tsk_aaaaaaaaaaaaaaaaaaaa.default"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("not_found");
  });
});

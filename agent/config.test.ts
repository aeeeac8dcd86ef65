import { describe, expect, test } from "vitest";
import { CLIError } from "./cli-error.ts";
import { parseCli, parseDuration, resolveConfig } from "./config.ts";

const base = ["--edge", "https://edge.example.com", "--token", "t0k", "--comfyui", "http://127.0.0.1:8188"];

function run(argv: string[], env: Record<string, string> = {}) {
  const command = parseCli(argv, env);
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return command.config;
}

function cliError(fn: () => unknown): CLIError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CLIError) return e;
    throw e;
  }
  throw new Error("expected a CLIError");
}

describe("parseCli", () => {
  test("flags fill the config and the rest takes documented defaults", () => {
    const c = run([...base, "--name", "rig-1", "--state-dir", "/tmp/x"]);
    expect(c).toMatchObject({
      edgeUrl: "https://edge.example.com",
      token: "t0k",
      comfyUrl: "http://127.0.0.1:8188",
      name: "rig-1",
      pool: "default",
      capacity: 1,
      prefetch: 0,
      launch: null,
      metricsPort: null,
      jobTimeoutMs: 600_000,
      graceMs: 60_000,
      stateDir: "/tmp/x",
    });
  });

  test("environment variables stand in for missing flags, and flags win over them", () => {
    const env = { EDGE_URL: "http://env-edge:8787", AGENT_TOKEN: "env-token", COMFYUI_URL: "http://env-comfy:8188", AGENT_POOL: "sdxl" };
    const fromEnv = run([], env);
    expect(fromEnv).toMatchObject({ edgeUrl: "http://env-edge:8787", token: "env-token", comfyUrl: "http://env-comfy:8188", pool: "sdxl" });
    const flagged = run(["--token", "flag-token", "--pool", "flux"], env);
    expect(flagged).toMatchObject({ token: "flag-token", pool: "flux" });
  });

  test("numbers and durations parse, with a bare number meaning seconds", () => {
    const c = run([...base, "--capacity", "2", "--prefetch", "1", "--job-timeout", "10m", "--grace", "1500ms", "--metrics-port", "9100"]);
    expect(c).toMatchObject({ capacity: 2, prefetch: 1, jobTimeoutMs: 600_000, graceMs: 1_500, metricsPort: 9100 });
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
    expect(parseDuration("soon")).toBeNull();
  });

  test("--launch replaces --comfyui and carries python and gpu; the default name names the GPU", () => {
    const c = run(["--edge", "http://e", "--token", "t", "--launch", "/opt/ComfyUI", "--python", "/opt/venv/bin/python", "--gpu", "1"]);
    expect(c.comfyUrl).toBeNull();
    expect(c.launch).toEqual({ dir: "/opt/ComfyUI", python: "/opt/venv/bin/python", gpu: "1", args: [] });
    expect(c.name).toMatch(/-gpu1$/);
  });

  test("models on demand: --models-dir, --models-cache-gb (GiB) and --pin-models, or their env names; none by default", () => {
    expect(run(base)).toMatchObject({ modelsDir: null, modelsCacheBytes: null, pinModels: [] });
    const c = run([...base, "--models-dir", "/srv/models", "--models-cache-gb", "0.5", "--pin-models", "unet/flux.gguf, loras/a.safetensors"]);
    expect(c).toMatchObject({ modelsDir: "/srv/models", modelsCacheBytes: 512 * 1024 ** 2, pinModels: ["unet/flux.gguf", "loras/a.safetensors"] });
    const env = run(base, { MODELS_DIR: "/m", MODELS_CACHE_GB: "40", PIN_MODELS: "vae/ae.safetensors" });
    expect(env).toMatchObject({ modelsDir: "/m", modelsCacheBytes: 40 * 1024 ** 3, pinModels: ["vae/ae.safetensors"] });
    expect(cliError(() => parseCli([...base, "--models-cache-gb", "lots"], {})).message).toContain("--models-cache-gb");
    expect(cliError(() => parseCli([...base, "--pin-models", "flux.gguf"], {})).message).toContain("folder/name");
  });

  test("help and version are commands, not errors", () => {
    expect(parseCli(["--help"], {})).toEqual({ kind: "help" });
    expect(parseCli(["-v"], {})).toEqual({ kind: "version" });
  });

  test("unknown flags and malformed values are usage errors", () => {
    expect(cliError(() => parseCli([...base, "--bogus"], {})).code).toBe("usage");
    expect(cliError(() => parseCli([...base, "--capacity", "two"], {})).code).toBe("usage");
    expect(cliError(() => parseCli([...base, "--grace", "later"], {})).message).toContain("--grace");
    expect(cliError(() => parseCli([...base, "--gpu", "0"], {})).message).toContain("--launch");
  });

  test("missing or invalid settings are config errors naming the setting", () => {
    expect(cliError(() => parseCli(["--edge", "http://e"], {})).message).toContain("--token");
    const noComfy = cliError(() => parseCli(["--edge", "http://e", "--token", "t"], {}));
    expect(noComfy.code).toBe("config");
    expect(noComfy.message).toContain("--comfyui");
    expect(cliError(() => parseCli([...base, "--capacity", "0"], {})).message).toContain("capacity");
    expect(cliError(() => parseCli([...base, "--pool", "Not A Pool"], {})).message).toContain("pool");
    expect(cliError(() => parseCli(["--edge", "ftp://e", "--token", "t", "--comfyui", "http://c"], {})).message).toContain("edgeUrl");
  });
});

describe("resolveConfig", () => {
  test("an in-process caller passes only what matters, tuning included", () => {
    const c = resolveConfig({ edgeUrl: "http://127.0.0.1:1", token: "t", comfyUrl: "http://127.0.0.1:2", tuning: { pollMs: 20 } });
    expect(c.tuning.pollMs).toBe(20);
    expect(c.tuning.reconnectMaxMs).toBe(30_000);
    expect(c.capacity).toBe(1);
  });
});

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCli, USAGE } from "../../agent/config.ts";
import { AGENT_NODE_FLAGS } from "../../scripts/agent-bundle.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const unit = readFileSync(new URL("./comfy-agent@.service", import.meta.url), "utf8");
const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);
const execStart = unit.match(/^ExecStart=((?:.*\\\n)*.*)$/m)?.[1]?.replace(/\\\n\s*/g, " ") ?? "";
const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("comfy-agent@.service", () => {
  it("runs one agent per GPU from the instance name, with its settings from an EnvironmentFile", () => {
    expect(settings("Environment")).toContain("CUDA_VISIBLE_DEVICES=%i");
    expect(execStart).toContain("--gpu %i");
    expect(execStart).toMatch(/--launch \S+\/ComfyUI/);
    expect(settings("EnvironmentFile")).toEqual(["/etc/comfy-edge/agent.env", "-/etc/comfy-edge/agent-%i.env"]);
    expect(execStart).not.toContain("--token");
  });

  it("restarts on failure and drains on stop: SIGTERM to the agent alone, then a bounded wait", () => {
    expect(settings("Restart")).toEqual(["on-failure"]);
    expect(settings("KillSignal")).toEqual(["SIGTERM"]);
    expect(settings("KillMode")).toEqual(["mixed"]);
    expect(settings("TimeoutStopSec")).toEqual(["120s"]);
  });

  it("rebuilds the agent bundle from the checkout before every start", () => {
    expect(settings("ExecStartPre")).toEqual(["/opt/comfy-edge/node_modules/.bin/node /opt/comfy-edge/scripts/build-agent.ts"]);
  });

  it("runs the bundled agent with the Node flags the benchmark measured", () => {
    const [node, ...rest] = execStart.split(" ");
    expect(node).toMatch(/\/node$/);
    const script = rest.findIndex((a) => a.endsWith("/dist/comfy-agent.mjs"));
    expect(script).toBeGreaterThan(-1);
    expect(rest.slice(0, script)).toEqual(AGENT_NODE_FLAGS);
  });

  it("passes ComfyUI flags through COMFY_ARGS (the agent's --comfy-args), settable per GPU", () => {
    expect(settings("Environment")).toContain("COMFY_ARGS=");
    const example = readFileSync(new URL("./agent.env.example", import.meta.url), "utf8");
    expect(example).toMatch(/^#COMFY_ARGS=--/m);
    expect(USAGE).toContain("(env COMFY_ARGS)");
    // The unit's launch flags and COMFY_ARGS end up on ComfyUI's command line.
    const words = execStart.slice(execStart.indexOf("comfy-agent.mjs") + "comfy-agent.mjs".length).trim().split(/\s+/);
    const command = parseCli(["--edge", "https://e.example", "--token", "t", ...words], { COMFY_ARGS: "--highvram --preview-method auto" });
    expect(command.kind === "run" && command.config.launch?.args).toEqual(["--highvram", "--preview-method", "auto"]);
  });

  it("names in its env example only settings the agent reads", () => {
    const example = readFileSync(new URL("./agent.env.example", import.meta.url), "utf8");
    const names = [...example.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string);
    expect(names).toContain("MODELS_CACHE_GB");
    for (const name of names) expect(USAGE, name).toMatch(new RegExp(`env ${name}\\b`));
  });

  it("passes only flags comfy-agent knows", () => {
    const flags = execStart.slice(execStart.indexOf("comfy-agent.mjs")).match(/--[a-z-]+/g) ?? [];
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(USAGE).toContain(`${flag} `);
  });

  it.skipIf(!hasSystemdAnalyze)("is a unit systemd accepts", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "unit-"));
    try {
      const file = path.join(dir, "comfy-agent@.service");
      writeFileSync(file, unit.replaceAll("/opt/comfy-edge", root));
      execFileSync("systemd-analyze", ["verify", path.join(dir, "comfy-agent@0.service")], { stdio: "pipe" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

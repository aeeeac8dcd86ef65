import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim, type Sim } from "../sim/server.ts";
import { AGENT_BUNDLE, buildAgentBundle, buildCliBundle, CLI_BUNDLE } from "./agent-bundle.ts";
import { ROOT, startLocalEdge, type LocalEdge } from "./local/edge.ts";

/** The machine's own `node` (the first on PATH outside node_modules), which `npm link`ed commands run on. */
function systemNode(): string | null {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d && !d.includes("node_modules"));
  for (const dir of ["/usr/bin", ...dirs]) if (existsSync(join(dir, "node"))) return join(dir, "node");
  return null;
}

const SYSTEM_NODE = systemNode();
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string>; scripts: Record<string, string> };

describe("package.json bin", () => {
  it("points at the JavaScript bundles that `prepare` (npm ci / install / link) builds", () => {
    expect(pkg.bin).toEqual({ "comfy-agent": relative(ROOT, AGENT_BUNDLE), "comfy-gen": relative(ROOT, CLI_BUNDLE) });
    expect(pkg.scripts.prepare).toBe("node scripts/build-bins.ts");
  });
});

describe.skipIf(SYSTEM_NODE === null)(`the linked commands on the system Node (${SYSTEM_NODE})`, () => {
  // What `npm link` makes: <prefix>/bin/<name> -> the package's bin file, run through its `#!/usr/bin/env node`.
  const linkDir = mkdtempSync(join(tmpdir(), "ce-linked-bin-"));
  const env = {
    ...process.env,
    PATH: [linkDir, dirname(SYSTEM_NODE ?? "/usr/bin"), ...(process.env.PATH ?? "").split(delimiter).filter((d) => !d.includes("node_modules"))].join(delimiter),
  };
  const keys = { client: "bins-client-key-00000001", agent: "bins-agent-key-000000001", admin: "bins-admin-key-000000001" };
  let edge: LocalEdge;
  let sim: Sim;

  beforeAll(async () => {
    await Promise.all([buildCliBundle(), buildAgentBundle()]);
    symlinkSync(CLI_BUNDLE, join(linkDir, "comfy-gen"));
    symlinkSync(AGENT_BUNDLE, join(linkDir, "comfy-agent"));
    [edge, sim] = await Promise.all([startLocalEdge({ keys }), startSim({ port: 0, stepMs: 5 })]);
  });
  afterAll(async () => {
    await sim?.close();
    await edge?.close();
  });

  it("resolve `node` to the system Node, not the project's", () => {
    const version = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout.trim();
    expect(version).toBe(spawnSync(SYSTEM_NODE!, ["--version"], { encoding: "utf8" }).stdout.trim());
  });

  it("comfy-agent runs a job that comfy-gen submits, follows and downloads", async () => {
    const agent = spawn("comfy-agent", ["--edge", edge.url, "--comfyui", sim.url, "--name", "linked-bin"], {
      env: { ...env, AGENT_TOKEN: keys.agent, AGENT_STATE_DIR: mkdtempSync(join(tmpdir(), "ce-linked-agent-")), LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let agentOut = "";
    agent.stdout.on("data", (d) => (agentOut += d));
    agent.stderr.on("data", (d) => (agentOut += d));
    const agentExit = new Promise<number | null>((r) => agent.once("exit", (code) => r(code)));
    try {
      const out = mkdtempSync(join(tmpdir(), "ce-linked-out-"));
      const run = spawn("comfy-gen", ["run", "--workflow", "sd15_basic", "--prompt", "a lighthouse", "--set", "steps=2", "--out", out, "--url", edge.url, "--key", keys.client, "--timeout", "40"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let runOut = "";
      run.stdout.on("data", (d) => (runOut += d));
      run.stderr.on("data", (d) => (runOut += d));
      const code = await new Promise<number | null>((r) => run.once("exit", (c) => r(c)));
      expect(code, `comfy-gen:\n${runOut}\ncomfy-agent:\n${agentOut}`).toBe(0);
      expect(readdirSync(out).filter((f) => f.endsWith(".png"))).toHaveLength(1);
    } finally {
      agent.kill("SIGTERM");
    }
    expect(await agentExit).toBe(0);
    expect(agentOut).not.toContain("ERR_");
  }, 60_000);
});

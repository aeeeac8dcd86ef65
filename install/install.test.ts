import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headOf, makeRepo, type LocalRepo } from "./testing/git-repo.ts";
import { makeBytes, startHub, type Hub } from "./testing/hub-server.ts";

const script = fileURLToPath(new URL("./install.sh", import.meta.url));
const model = makeBytes(64_000);
let dir: string;
let hub: Hub;
let comfy: LocalRepo;
let pinnedComfy: string;
let laterComfy: string;
let node: LocalRepo;
let pinnedNode: string;

// Offline throughout: ComfyUI and the node come from file:// repositories made here, models from
// a server on 127.0.0.1, and pip (when it runs) may only use what is on disk.
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "install-sh-"));
  hub = await startHub([], { "tiny.safetensors": model });
  comfy = makeRepo(path.join(dir, "src"), "ComfyUI");
  pinnedComfy = comfy.commit({ "requirements.txt": "# nothing to install offline\n", "main.py": "print('comfy')\n" }, "v0.3.64");
  laterComfy = comfy.commit({ "main.py": "print('newer, not pinned')\n" });
  node = makeRepo(path.join(dir, "src"), "ComfyUI-GGUF");
  pinnedNode = node.commit({ "requirements.txt": "# none\n", "nodes.py": "" }, "v1");
  node.commit({ "nodes.py": "# later" });
  writeFileSync(path.join(dir, "nodes.txt"), `${node.url}@v1\n`);
  writeFileSync(path.join(dir, "models.ini"), `[loras]\nTiny = ${hub.origin}/tiny.safetensors\n`);
  writeFileSync(path.join(dir, "bad-models.ini"), `[loras]\n_ = ${hub.origin}/missing.safetensors\n`);
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

type Run = { code: number; out: string };

function installSh(args: string[], env: Record<string, string>): Promise<Run> {
  const home = path.join(dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(home);
  const base = {
    // rustup's proxies (pip asks rustc for its user agent) would create ~/.rustup: not ours to test.
    PATH: (process.env.PATH ?? "").split(":").filter((p) => !p.includes("/.cargo/")).join(":"),
    HOME: home,
    COMFYUI_REPO: comfy.url,
    COMFYUI_REF: "v0.3.64",
    NODES_CONFIG: path.join(dir, "nodes.txt"),
    MODELS_CONFIG: path.join(dir, "models.ini"),
    PIP_NO_INDEX: "1",
    PIP_FIND_LINKS: "",
  };
  return new Promise((resolve) => {
    execFile("bash", [script, ...args], { env: { ...base, ...env }, timeout: 110_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}\n${stderr}` });
    });
  });
}

function fakeTool(name: string, body: string): string {
  const file = path.join(dir, "fakes", name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe("install.sh", () => {
  it("refuses to start without its dependencies, naming each and what to do, and changes nothing", async () => {
    const installDir = path.join(dir, "no-deps");
    const oldPython = fakeTool("python-3.8", `echo 3.8.18`);
    const oldNode = fakeTool("node-20", `echo 20.11.1`);

    const run = await installSh([], { INSTALL_DIR: installDir, GIT: path.join(dir, "no/git"), PYTHON: oldPython, NODE: oldNode });

    expect(run.code).toBe(1);
    expect(run.out).toContain("Installation FAILED (3 problem(s))");
    expect(run.out).toMatch(/git not found .*\n\s+fix: install git/);
    expect(run.out).toMatch(/Python 3\.8\.18 is too old .*\n\s+fix: install Python 3\.10\+/);
    expect(run.out).toMatch(/Node 20\.11\.1 is too old .*\n\s+fix: run 'npm ci'/);
    expect(run.out).toContain("nothing was changed");
    expect(existsSync(installDir)).toBe(false);
  });

  it("installs offline: venv, ComfyUI at the pinned ref, the pinned custom node, the models; a re-run changes nothing", async () => {
    const installDir = path.join(dir, "full");
    const home = path.join(dir, "full-home");
    mkdirSync(home);

    const first = await installSh([], { INSTALL_DIR: installDir, HOME: home });

    expect(first.out).toContain("Installation complete");
    expect(first.code).toBe(0);
    expect(existsSync(path.join(installDir, "venv/bin/python"))).toBe(true);
    expect(headOf(path.join(installDir, "ComfyUI"))).toBe(pinnedComfy);
    expect(headOf(path.join(installDir, "ComfyUI/custom_nodes/ComfyUI-GGUF"))).toBe(pinnedNode);
    expect(first.out).toContain("ok     ComfyUI-GGUF: cloned at v1");
    expect(first.out).toContain("requirements installed");
    expect(readFileSync(path.join(installDir, "ComfyUI/models/loras/Tiny.safetensors")).equals(model)).toBe(true);
    expect(readdirSync(home)).toEqual([]);

    const again = await installSh([], { INSTALL_DIR: installDir, HOME: home });

    expect(again.code).toBe(0);
    expect(again.out).toContain("reusing the existing venv");
    expect(again.out).toContain("already at v0.3.64");
    expect(again.out).toContain("already installed (requirements.txt unchanged)");
    expect(again.out).toContain("ComfyUI-GGUF: unchanged at v1");
    expect(again.out).toContain("0 downloaded, 1 already complete");
    expect(readdirSync(home)).toEqual([]);
  }, 240_000);

  it("ends non-zero with a summary of each failed step and its fix, and later moves ComfyUI to a new ref", async () => {
    const installDir = path.join(dir, "broken");
    // A venv without the 5 s of ensurepip: enough for a run with --skip-pip.
    const python = fakeTool("python-ok", `case "$1" in -c) echo 3.11.7 ;; -m) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;; esac`);

    const noComfy = await installSh(["--skip-pip"], { INSTALL_DIR: installDir, PYTHON: python, COMFYUI_REPO: `file://${path.join(dir, "src/NoSuchRepo")}` });

    expect(noComfy.code).toBe(1);
    expect(noComfy.out).toMatch(/could not clone .*NoSuchRepo.*\n\s+fix: check the network, COMFYUI_REPO and COMFYUI_REF/);
    expect(noComfy.out).toContain("custom nodes were not installed");
    expect(noComfy.out).toContain("models were not downloaded");
    expect(existsSync(path.join(installDir, "ComfyUI"))).toBe(false);
    expect(existsSync(path.join(installDir, ".ComfyUI.cloning"))).toBe(false);

    const badDownload = await installSh(["--skip-pip"], { INSTALL_DIR: installDir, PYTHON: python, MODELS_CONFIG: path.join(dir, "bad-models.ini") });

    expect(badDownload.code).toBe(1);
    expect(badDownload.out).toContain("loras/missing.safetensors: 404");
    expect(badDownload.out).toMatch(/Installation FAILED \(1 problem\(s\)\):\n\s+- some model downloads failed/);
    expect(headOf(path.join(installDir, "ComfyUI"))).toBe(pinnedComfy);

    const moved = await installSh(["--skip-pip", "--skip-nodes", "--skip-models"], { INSTALL_DIR: installDir, PYTHON: python, COMFYUI_REF: laterComfy });
    expect(moved.code).toBe(0);
    expect(moved.out).toContain(`updated ${pinnedComfy.slice(0, 8)} -> ${laterComfy}`);
    expect(headOf(path.join(installDir, "ComfyUI"))).toBe(laterComfy);
  }, 120_000);

  it("a venv that cannot be created is reported with its fix and not left half-made", async () => {
    const installDir = path.join(dir, "no-venv");
    const python = fakeTool("python-no-venv", `case "$1" in -c) echo 3.12.3 ;; -m) mkdir -p "$3/bin"; echo "Error: ensurepip is not available" >&2; exit 1 ;; esac`);

    const run = await installSh(["--skip-comfyui", "--skip-nodes", "--skip-models"], { INSTALL_DIR: installDir, PYTHON: python });

    expect(run.code).toBe(1);
    expect(run.out).toMatch(/Installation FAILED \(1 problem\(s\)\):\n\s+- could not create the venv .*\n\s+fix: install the venv module/);
    expect(existsSync(path.join(installDir, "venv"))).toBe(false);
  });

  it("--dry-run prints the plan, every model's final path, and writes nothing", async () => {
    const installDir = path.join(dir, "dry");
    const requestsBefore = hub.requests.length;

    const run = await installSh(["--dry-run"], { INSTALL_DIR: installDir });

    expect(run.code).toBe(0);
    expect(run.out).toContain(`would clone ${comfy.url} at v0.3.64`);
    expect(run.out).toContain(`would clone ${node.url} at v1`);
    expect(run.out).toContain(`would write ${path.join(installDir, "ComfyUI/models/loras/Tiny.safetensors")}`);
    expect(run.out).toContain("Dry run complete: nothing was changed.");
    expect(existsSync(installDir)).toBe(false);
    expect(hub.requests.length).toBe(requestsBefore);
  }, 120_000);

  it("rejects an unknown option with exit code 2", async () => {
    const run = await installSh(["--frobnicate"], {});
    expect(run.code).toBe(2);
    expect(run.out).toContain("unknown option: --frobnicate");
  });
});

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { headOf, makeRepo } from "../testing/git-repo.ts";
import { installCustomNodes, NodeListError, type NodeOutcome } from "./index.ts";

let dir: string;
let nodesDir: string;
let python: string;
let pipLog: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nodes-"));
  nodesDir = path.join(dir, "ComfyUI/custom_nodes");
  pipLog = path.join(dir, "pip.log");
  // A stand-in interpreter that records each pip call (cwd and args) instead of reaching PyPI.
  python = path.join(dir, "venv/bin/python");
  mkdirSync(path.dirname(python), { recursive: true });
  writeFileSync(python, `#!/bin/sh\necho "$(pwd) $*" >> "${pipLog}"\n[ -f fail-pip ] && { echo "ERROR: No matching distribution found for nosuchpkg" >&2; exit 1; }\nexit 0\n`);
  chmodSync(python, 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const install = (listText: string, extra: { skipPip?: boolean; dryRun?: boolean } = {}) => installCustomNodes({ listText, dir: nodesDir, python, cwd: dir, ...extra });
const pipCalls = () => (existsSync(pipLog) ? readFileSync(pipLog, "utf8").trim().split("\n") : []);
const byName = (outcomes: NodeOutcome[], name: string) => outcomes.find((o) => o.node.name === name) as NodeOutcome;

describe("installCustomNodes", () => {
  it("clones each node at its pinned tag or commit and pip-installs its requirements into the venv", async () => {
    const gguf = makeRepo(path.join(dir, "src"), "ComfyUI-GGUF");
    const v1 = gguf.commit({ "requirements.txt": "gguf>=0.13.0\n", "nodes.py": "v1" }, "v1");
    gguf.commit({ "nodes.py": "v2" }, "v2");
    const params = makeRepo(path.join(dir, "src"), "ParamNodes");
    const first = params.commit({ "nodes.py": "a" });
    params.commit({ "nodes.py": "b" });

    const { outcomes, ok } = await install(`# test list\n${gguf.url}@v1\n${params.url}@${first}\n`);

    expect(ok).toBe(true);
    expect(headOf(path.join(nodesDir, "ComfyUI-GGUF"))).toBe(v1);
    expect(headOf(path.join(nodesDir, "ParamNodes"))).toBe(first);
    expect(readFileSync(path.join(nodesDir, "ParamNodes/nodes.py"), "utf8")).toBe("a");
    expect(byName(outcomes, "ComfyUI-GGUF")).toMatchObject({ status: "ok", checkout: { action: "cloned" }, requirements: "installed" });
    expect(byName(outcomes, "ComfyUI-GGUF").message).toMatch(/^cloned at v1 \([0-9a-f]{8}\); requirements installed$/);
    expect(byName(outcomes, "ParamNodes").requirements).toBe("none");
    expect(pipCalls()).toEqual([`${path.join(nodesDir, "ComfyUI-GGUF")} -m pip install --disable-pip-version-check -r requirements.txt`]);
  });

  it("a re-run moves a checkout to a new pin, reinstalls changed requirements, and leaves an unchanged one alone", async () => {
    const node = makeRepo(path.join(dir, "src"), "Easy-Use");
    node.commit({ "requirements.txt": "lark\n" }, "v1.3.3");
    await install(`${node.url}@v1.3.3\n`);
    const v2 = node.commit({ "requirements.txt": "lark\npeft\n" }, "v1.3.4");

    const moved = byName((await install(`${node.url}@v1.3.4\n`)).outcomes, "Easy-Use");
    expect(moved).toMatchObject({ status: "ok", checkout: { action: "updated", after: v2 }, requirements: "installed" });
    expect(headOf(path.join(nodesDir, "Easy-Use"))).toBe(v2);

    const again = byName((await install(`${node.url}@v1.3.4\n`)).outcomes, "Easy-Use");
    expect(again).toMatchObject({ status: "ok", checkout: { action: "unchanged" }, requirements: "already_installed" });
    expect(pipCalls()).toHaveLength(2);
  });

  it("an unpinned node follows the default branch on re-runs", async () => {
    const node = makeRepo(path.join(dir, "src"), "Essentials");
    node.commit({ "a.py": "1" });
    await install(`${node.url}\n`);
    const tip = node.commit({ "a.py": "2" });

    const outcome = byName((await install(`${node.url}\n`)).outcomes, "Essentials");

    expect(outcome).toMatchObject({ status: "ok", checkout: { action: "updated", after: tip } });
    expect(readFileSync(path.join(nodesDir, "Essentials/a.py"), "utf8")).toBe("2");
  });

  it("reports each failing node with what to do, and still installs the others", async () => {
    const good = makeRepo(path.join(dir, "src"), "Good");
    good.commit({ "x.py": "" });
    const badPip = makeRepo(path.join(dir, "src"), "BadPip");
    badPip.commit({ "requirements.txt": "nosuchpkg\n", "fail-pip": "" });
    mkdirSync(path.join(nodesDir, "NotGit"), { recursive: true });
    const notGit = makeRepo(path.join(dir, "src"), "NotGit");
    notGit.commit({ "x.py": "" });
    const list = [`file://${path.join(dir, "src/Missing")}`, `${good.url}@no-such-tag`, `${badPip.url}`, `${notGit.url}`, `${good.url.replace("Good", "Good2")}`].join("\n");
    const good2 = makeRepo(path.join(dir, "src"), "Good2");
    good2.commit({ "y.py": "" });

    const { outcomes, ok } = await install(list);

    expect(ok).toBe(false);
    expect(outcomes.map((o) => [o.node.name, o.status])).toEqual([
      ["Missing", "failed"],
      ["Good", "failed"],
      ["BadPip", "failed"],
      ["NotGit", "failed"],
      ["Good2", "ok"],
    ]);
    expect(byName(outcomes, "Missing").message).toContain("git clone");
    expect(byName(outcomes, "Good").message).toContain('ref "no-such-tag" is not a tag, branch or commit');
    expect(byName(outcomes, "BadPip").message).toContain("No matching distribution found for nosuchpkg");
    expect(byName(outcomes, "NotGit").message).toContain("not a git checkout");
    expect(existsSync(path.join(nodesDir, "Missing"))).toBe(false);
    expect(existsSync(path.join(nodesDir, "Good"))).toBe(false);
  });

  it("--skip-pip checks out without calling pip; --dry-run touches nothing", async () => {
    const node = makeRepo(path.join(dir, "src"), "WaveSpeed");
    node.commit({ "requirements.txt": "x\n" }, "v1");

    const planned = await install(`${node.url}@v1\n`, { dryRun: true });
    expect(planned.outcomes[0]).toMatchObject({ status: "planned", message: `would clone ${node.url} at v1 into ${path.join(nodesDir, "WaveSpeed")}` });
    expect(existsSync(nodesDir)).toBe(false);

    const skipped = await install(`${node.url}@v1\n`, { skipPip: true });
    expect(skipped.outcomes[0]).toMatchObject({ status: "ok", requirements: "skipped" });
    expect(pipCalls()).toEqual([]);
  });

  it("refuses a bad list before touching anything, naming the lines", async () => {
    await expect(install("https://example.com/a.git\nnot a url\n")).rejects.toThrowError(NodeListError);
    await expect(install("https://example.com/a.git\nnot a url\n")).rejects.toThrow(/line 2/);
    expect(existsSync(nodesDir)).toBe(false);
  });
});

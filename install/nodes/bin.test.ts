import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRepo } from "../testing/git-repo.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const node = path.join(root, "node_modules/.bin/node");
const bin = path.join(root, "install/nodes/bin.ts");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "nodes-bin-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(list: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(dir, `list-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, list);
  return new Promise((resolve) => {
    execFile(node, [bin, "--config", file, "--dir", path.join(dir, "custom_nodes"), "--skip-pip", ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("install/nodes/bin.ts", () => {
  it("prints a line per node and exits 0 when all are in place, 1 when one failed", async () => {
    const repo = makeRepo(path.join(dir, "src"), "ComfyUI-GGUF");
    repo.commit({ "nodes.py": "", "requirements.txt": "gguf\n" }, "v1");

    const ok = await cli(`${repo.url}@v1\n`);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok {5}ComfyUI-GGUF: cloned at v1 \([0-9a-f]{8}\); requirements skipped \(--skip-pip\)$/m);
    expect(ok.stdout).toContain("custom nodes: 1 of 1 ready");

    const failed = await cli(`${repo.url}@v1\nfile://${path.join(dir, "src/Gone")}\n`);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("ok     ComfyUI-GGUF: unchanged at v1");
    expect(failed.stderr).toMatch(/^FAILED Gone: git clone .* failed: /m);
    expect(failed.stdout).toContain("1 failed: Gone");
  });

  it("exits 2 on a bad list or a bad flag", async () => {
    const bad = await cli("https://example.com/a.git\nnot a url\n");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("line 2:");
    expect((await cli("", "--nope")).code).toBe(2);
  });
});

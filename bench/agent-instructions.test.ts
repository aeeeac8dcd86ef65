import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../scripts/local/edge.ts";
import { hasValgrind } from "./agent-instructions.ts";

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "bench/agent-instructions.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench:instructions (node bench/agent-instructions.ts)", () => {
  it("is the npm script the README and bench/README.md name", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts["bench:instructions"]).toBe("node bench/agent-instructions.ts");
  });

  it("refuses job counts it cannot subtract, saying which flag", async () => {
    const { code, stderr } = await run("--jobs", "50,10");
    expect(code).toBe(2);
    expect(stderr).toContain("--jobs takes two whole numbers, small < large");
  });

  // valgrind is on Debian's images (and on this project's CI machines); elsewhere `apt-get install valgrind`.
  it.skipIf(!hasValgrind())("counts the instructions per job of the agent built from the current source, under valgrind", async () => {
    const { code, stdout, stderr } = await run("--jobs", "2,5", "--repeat", "1", "--window-s", "45");
    expect(code, stderr.slice(-2000)).toBe(0);
    const m = /instructions per job \(jobs 2 → 5, prefetch 1\): min ([\d.]+) M, median ([\d.]+) M/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    // A job is three HTTP requests and a dozen socket frames: far above 100 k instructions.
    expect(Number(m![1])).toBeGreaterThan(0.1);
  }, 300_000);
});

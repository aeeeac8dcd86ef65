import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = join(dirname(fileURLToPath(import.meta.url)), "ci-test.sh");

/** Runs scripts/ci-test.sh in a scratch folder with an `npm` that writes `report` (if any) and exits with `code`. */
function runWithFakeNpm(code: number, report: { numPassedTests: number; numFailedTests: number } | null) {
  const dir = mkdtempSync(join(tmpdir(), "ce-ci-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const write = report ? `mkdir -p test-results && echo '${JSON.stringify(report)}' > test-results/vitest.json` : "true";
  writeFileSync(join(bin, "npm"), `#!/usr/bin/env bash\n[ "$1" = test ] || exit 99\n${write}\nexit ${code}\n`);
  chmodSync(join(bin, "npm"), 0o755);
  // A report left by an earlier run must not be read as this run's.
  mkdirSync(join(dir, "test-results"));
  writeFileSync(join(dir, "test-results/vitest.json"), JSON.stringify({ numPassedTests: 1000, numFailedTests: 0 }));
  return spawnSync("bash", [script], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

describe(".ci/run's test step (scripts/ci-test.sh)", () => {
  it("prints the summary line when tests fail, then exits with the tests' status", () => {
    const run = runWithFakeNpm(1, { numPassedTests: 5, numFailedTests: 2 });
    expect(run.stdout).toContain("5 passed, 2 failed");
    expect(run.status).toBe(1);
  });

  it("prints it when they pass and exits 0", () => {
    const run = runWithFakeNpm(0, { numPassedTests: 7, numFailedTests: 0 });
    expect(run.stdout).toContain("7 passed, 0 failed");
    expect(run.status).toBe(0);
  });

  it("says there is no report when the run died before writing one, and keeps its status", () => {
    const run = runWithFakeNpm(2, null);
    expect(run.stdout).toContain("no test report: the run stopped before writing test-results/vitest.json");
    expect(run.stdout).not.toContain("1000 passed");
    expect(run.status).toBe(2);
  });
});

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./local/edge.ts";

/** The machine's npm and the Node it runs on (what a newcomer types `npm ci` with). */
const SYSTEM_NPM = ["/usr/bin/npm", "/usr/local/bin/npm"].find((p) => existsSync(p)) ?? null;
const systemPath = SYSTEM_NPM ? `${dirname(SYSTEM_NPM)}:/usr/bin:/bin` : "";
const systemNodeMajor = SYSTEM_NPM
  ? Number(/^v(\d+)/.exec(spawnSync("node", ["--version"], { env: { ...process.env, PATH: systemPath }, encoding: "utf8" }).stdout)?.[1] ?? 0)
  : 0;

describe.skipIf(SYSTEM_NPM === null || systemNodeMajor >= 22)(`npm on the system Node ${systemNodeMajor}`, () => {
  const env = { ...process.env, PATH: systemPath, npm_config_update_notifier: "false" };

  it("warns EBADENGINE on npm ci: the project (and wrangler, miniflare) declare Node >= 22", () => {
    // A dry run in a copy: the same engine check as `npm ci`, without touching node_modules.
    const dir = mkdtempSync(join(tmpdir(), "ce-npm-ci-"));
    for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(ROOT, f), join(dir, f));
    const ci = spawnSync(SYSTEM_NPM!, ["ci", "--dry-run", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
    const out = ci.stdout + ci.stderr;
    expect(out).toContain("EBADENGINE");
    expect(out).toMatch(/package: 'comfy-edge@[^']+',\s+npm warn EBADENGINE\s+required: \{ node: '>=22\.18' \}/);
    for (const tool of ["wrangler", "miniflare"]) expect(out).toMatch(new RegExp(`EBADENGINE\\s+package: '${tool}@`));
  }, 150_000);

  it("runs npm scripts on the project's own Node 22 all the same", () => {
    const run = spawnSync(SYSTEM_NPM!, ["exec", "-c", "node --version"], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 });
    expect(run.stdout.trim()).toMatch(/^v22\./);
  }, 90_000);
});

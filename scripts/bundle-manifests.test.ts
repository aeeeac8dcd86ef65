import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleManifests, bundleModelCatalog } from "./bundle-manifests.ts";

function copyManifests(): string {
  const dir = mkdtempSync(join(tmpdir(), "manifests-"));
  cpSync("manifests", dir, { recursive: true });
  return dir;
}

describe("bundle-manifests (the build step)", () => {
  it("writes the manifests as a module the Worker imports", () => {
    const out = join(mkdtempSync(join(tmpdir(), "bundle-")), "manifests.ts");
    bundleManifests(copyManifests(), out);
    const text = readFileSync(out, "utf8");
    expect(text).toContain("export const MANIFEST_FILES");
    expect(text).toContain("workflows/flux_default.json");
  });

  it("fails the build with the file, key and reason of a manifest mistake, exit code 1", () => {
    const dir = copyManifests();
    const wf = readFileSync(join(dir, "workflows.yaml"), "utf8").replace("    - steps\n", "    - stepz\n");
    writeFileSync(join(dir, "workflows.yaml"), wf);
    expect(() => bundleManifests(dir, join(dir, "out.ts"))).toThrow(/workflows\.yaml: .*stepz/);
    const run = spawnSync(process.execPath, ["scripts/bundle-manifests.ts"], { env: { ...process.env, MANIFESTS_DIR: dir }, encoding: "utf8" });
    // The script is run against the copy only for its exit code; it must not touch the real bundle on failure.
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/manifest error: workflows\.yaml/);
  });

  it("writes models.ini beside the manifests as MODELS_INI (the fetch catalog), and refuses a bad line, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bundle-"));
    bundleManifests(copyManifests(), join(dir, "manifests.ts"));
    expect(readFileSync(join(dir, "models-ini.ts"), "utf8")).toContain("export const MODELS_INI");
    writeFileSync(join(dir, "bad.ini"), "[unet]\n_ = https://example.com/m.gguf\n_ = https://example.com/x.gguf#md5=1\n");
    expect(() => bundleModelCatalog(join(dir, "bad.ini"), join(dir, "bad-out.ts"))).toThrow(/line 3: unknown pin/);
  });
});

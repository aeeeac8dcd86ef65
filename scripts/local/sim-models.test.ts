import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { DEFAULT_INVENTORY } from "../../sim/folders.ts";
import { prepareSimModels } from "./sim-models.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const state = (): string => {
  const d = mkdtempSync(join(tmpdir(), "sim-models-state-"));
  dirs.push(d);
  return d;
};

describe("prepareSimModels", () => {
  test("makes <state>/sim-models with a placeholder for every model of the default inventory", () => {
    const s = state();
    const { dir, created } = prepareSimModels(s);
    expect({ dir, created }).toEqual({ dir: join(s, "sim-models"), created: true });
    for (const [folder, names] of Object.entries(DEFAULT_INVENTORY)) {
      for (const name of names) expect(existsSync(join(dir, folder, name)), `${folder}/${name}`).toBe(true);
    }
  });

  test("leaves an existing folder as it is: the user's files kept, deleted placeholders not made again", () => {
    const s = state();
    const { dir } = prepareSimModels(s);
    writeFileSync(join(dir, "checkpoints", "v1-5-pruned-emaonly.safetensors"), "the user's own weights");
    rmSync(join(dir, "vae", "ae.safetensors"));
    expect(prepareSimModels(s)).toEqual({ dir, created: false });
    expect(readFileSync(join(dir, "checkpoints", "v1-5-pruned-emaonly.safetensors"), "utf8")).toBe("the user's own weights");
    expect(existsSync(join(dir, "vae", "ae.safetensors"))).toBe(false);
  });
});

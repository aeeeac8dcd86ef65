import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { loadRecords, recordsFile, saveRecords, type FetchedRecord } from "./records.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record = (name: string, state: FetchedRecord["state"], bytes: number | null): FetchedRecord => ({ folder: "loras", name, state, bytes, fetched_at: 1, last_used: 2 });

describe("fetched-model records", () => {
  test("are checked against the disk at load: gone or changed files are forgotten, an interrupted download's .part is removed", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "agent-records-"));
    const models = path.join(dir, "models");
    const put = (rel: string, size: number) => {
      mkdirSync(path.dirname(path.join(models, rel)), { recursive: true });
      writeFileSync(path.join(models, rel), Buffer.alloc(size));
    };
    put("loras/kept.safetensors", 10);
    put("loras/changed.safetensors", 99);
    put("loras/renamed-before-crash.safetensors", 7);
    put("loras/interrupted.safetensors.part", 5);
    put("loras/.interrupted.safetensors.download.json", 5);
    const file = recordsFile(path.join(dir, "state"), "rig 1");
    const records = new Map([
      ["loras/kept.safetensors", record("kept.safetensors", "complete", 10)],
      ["loras/changed.safetensors", record("changed.safetensors", "complete", 10)],
      ["loras/gone.safetensors", record("gone.safetensors", "complete", 10)],
      ["loras/renamed-before-crash.safetensors", record("renamed-before-crash.safetensors", "fetching", null)],
      ["loras/interrupted.safetensors", record("interrupted.safetensors", "fetching", null)],
    ]);
    await saveRecords(file, models, records);
    expect(path.basename(file)).toBe("models-rig_1.json");

    const fileOf = (r: FetchedRecord) => path.join(models, r.folder, r.name);
    const loaded = await loadRecords(file, models, fileOf);
    expect([...loaded.records.keys()].sort()).toEqual(["loras/kept.safetensors", "loras/renamed-before-crash.safetensors"]);
    expect(loaded.records.get("loras/renamed-before-crash.safetensors")).toMatchObject({ state: "complete", bytes: 7 });
    expect(loaded.dropped.sort()).toEqual(["loras/changed.safetensors", "loras/gone.safetensors", "loras/interrupted.safetensors"]);
    expect(existsSync(path.join(models, "loras/interrupted.safetensors.part"))).toBe(false);
    expect(existsSync(path.join(models, "loras/.interrupted.safetensors.download.json"))).toBe(false);
    expect(existsSync(path.join(models, "loras/changed.safetensors"))).toBe(true);

    // Records about another models folder say nothing about this one.
    expect((await loadRecords(file, path.join(dir, "elsewhere"), fileOf)).records.size).toBe(0);
  });
});

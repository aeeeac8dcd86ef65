import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, migrate } from "./migrations.ts";
import { queueFor } from "./stub.ts";

/** Rebuilds this object's storage from nothing at `version` (the object is used by this file only). */
function resetTo(storage: DurableObjectStorage, version: number): void {
  const tables = storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`).toArray();
  for (const { name } of tables) storage.sql.exec(`DROP TABLE "${name}"`);
  expect(migrate(storage, version)).toBe(version);
}

describe("schema migrations", () => {
  it("moves params and graphs of existing jobs out of the job rows (v1 → v2)", async () => {
    await runInDurableObject(queueFor(env, "migration-test"), async (_instance, state) => {
      const { storage } = state;
      resetTo(storage, 1);
      storage.sql.exec(
        `INSERT INTO jobs (id, owner, workflow_id, pool, state, priority, max_attempts, params, graph, models, models_sig, output_format, quality, timeout_s, created_at, enqueued_at)
         VALUES ('tsk_old.migration-test', 'k', 'txt2img', 'migration-test', 'queued', 0, 3, '{"prompt":"kept"}', '{"3":{"class_type":"KSampler","inputs":{}}}', '[]', '[]', 'png', 90, 60, 1, 1)`,
      );
      expect(migrate(storage)).toBe(MIGRATIONS.length);

      const columns = storage.sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('jobs')`).toArray().map((c) => c.name);
      expect(columns).not.toContain("graph");
      expect(columns).not.toContain("params");
      const moved = storage.sql
        .exec<{ id: string; params: string; graph: string }>(`SELECT j.id, p.params, p.graph FROM jobs j JOIN job_payloads p ON p.seq = j.seq`)
        .toArray();
      expect(moved).toEqual([{ id: "tsk_old.migration-test", params: '{"prompt":"kept"}', graph: '{"3":{"class_type":"KSampler","inputs":{}}}' }]);
    });
  });

  it("runs each migration once: a second run changes nothing", async () => {
    await runInDurableObject(queueFor(env, "migration-test"), async (_instance, state) => {
      resetTo(state.storage, MIGRATIONS.length);
      expect(migrate(state.storage)).toBe(MIGRATIONS.length);
      const version = state.storage.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).one().value;
      expect(Number(version)).toBe(MIGRATIONS.length);
    });
  });
});

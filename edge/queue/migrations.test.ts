import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AgentRegistry } from "./agents.ts";
import { MIGRATIONS, migrate } from "./migrations.ts";
import { JobStore } from "./store.ts";
import { queueFor } from "./stub.ts";

/** Rebuilds this object's storage from nothing at `version` (the object is used by this file only). */
function resetTo(storage: DurableObjectStorage, version: number): void {
  const tables = storage.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`).toArray();
  for (const { name } of tables) storage.sql.exec(`DROP TABLE "${name}"`);
  expect(migrate(storage, version)).toBe(version);
}

const v1Job = (id: string, state: string) =>
  `INSERT INTO jobs (id, owner, workflow_id, pool, state, priority, max_attempts, params, graph, models, models_sig, output_format, quality, timeout_s, created_at, enqueued_at)
   VALUES ('${id}', 'k', 'txt2img', 'migration-test', '${state}', 0, 3, '{"prompt":"${id}"}', '{"3":{"class_type":"KSampler","inputs":{}}}', '[]', '[]', 'png', 90, 60, 1, 1)`;

describe("schema migrations", () => {
  it("moves params and graphs of jobs that can still run out of their rows (v1 → v2), leaving finished rows as they were", async () => {
    await runInDurableObject(queueFor(env, "migration-test"), async (_instance, state) => {
      const { storage } = state;
      resetTo(storage, 1);
      storage.sql.exec(v1Job("tsk_queued.migration-test", "queued"));
      storage.sql.exec(v1Job("tsk_done.migration-test", "succeeded"));
      expect(migrate(storage)).toBe(MIGRATIONS.length);

      const store = new JobStore(storage);
      const queued = store.get("tsk_queued.migration-test")!;
      expect(JSON.parse(store.graphJson(queued.seq))).toEqual({ "3": { class_type: "KSampler", inputs: {} } });
      const rows = storage.sql.exec<{ id: string; params: string; graph: string }>(`SELECT id, params, graph FROM jobs ORDER BY seq`).toArray();
      expect(rows).toEqual([
        { id: "tsk_queued.migration-test", params: "", graph: "" },
        { id: "tsk_done.migration-test", params: '{"prompt":"tsk_done.migration-test"}', graph: '{"3":{"class_type":"KSampler","inputs":{}}}' },
      ]);
      expect(storage.sql.exec(`SELECT seq FROM job_payloads`).toArray()).toEqual([{ seq: queued.seq }]);
    });
  });

  it("inserts new jobs with their payload beside the row, and deletes both together", async () => {
    await runInDurableObject(queueFor(env, "migration-test"), async (_instance, state) => {
      resetTo(state.storage, MIGRATIONS.length);
      const store = new JobStore(state.storage);
      const graph = { "9": { class_type: "SaveImage", inputs: { filename_prefix: "x" } } };
      const { job } = store.insert(
        {
          id: "tsk_new.migration-test", owner: "k", workflow_id: "txt2img", pool: "migration-test", priority: 0,
          params_json: '{"prompt":"new"}', graph_json: JSON.stringify(graph), models: [], inputs: [], seed: 1,
          output_format: "png", quality: 90, timeout_s: 60, idem_key: null, idem_hash: null, webhook_url: null,
        },
        3,
        1,
      );
      expect(JSON.parse(store.graphJson(job.seq))).toEqual(graph);
      store.delete(job.id);
      expect(state.storage.sql.exec(`SELECT count(*) AS n FROM job_payloads`).one().n).toBe(0);
    });
  });

  it("reads requirement sets and agents from before node-aware routing as naming no node classes", async () => {
    await runInDurableObject(queueFor(env, "migration-test"), async (_instance, state) => {
      const before = MIGRATIONS.findIndex((steps) => steps.some((s) => s.includes("CREATE TABLE node_catalogs")));
      resetTo(state.storage, before);
      const sig = JSON.stringify(["checkpoints/old.safetensors"]);
      state.storage.sql.exec(`INSERT INTO model_sets (sig, models) VALUES (?, '[{"folder":"checkpoints","name":"old.safetensors"}]')`, sig);
      state.storage.sql.exec(
        `INSERT INTO agents (agent_id, name, version, capacity, prefetch, inventory, gpu, accepting, connected_at, last_seen)
         VALUES ('old-rig', 'old', '0', 1, 0, '{"checkpoints":["old.safetensors"]}', NULL, 1, 1, 1)`,
      );
      expect(migrate(state.storage)).toBe(MIGRATIONS.length);

      const store = new JobStore(state.storage);
      expect(store.modelSets().map(({ sig: s, nodes }) => ({ s, nodes }))).toEqual([{ s: sig, nodes: "[]" }]);
      const agents = new AgentRegistry(state.storage.sql);
      const rig = agents.get("old-rig")!;
      expect({ digest: rig.nodes_digest, version: rig.comfyui_version, classes: agents.classesOf(rig) }).toEqual({ digest: null, version: null, classes: null });
      expect(agents.runnableSigs(rig, (after) => store.modelSets(after))).toEqual([sig]);
      // A job of the same models that names no classes joins the old set rather than making a new one.
      const { job, newModelSet } = store.insert(
        {
          id: "tsk_same.migration-test", owner: "k", workflow_id: "txt2img", pool: "migration-test", priority: 0, params_json: "{}", graph_json: "{}",
          models: [{ folder: "checkpoints", name: "old.safetensors" }], inputs: [], seed: 1, output_format: "png", quality: 90, timeout_s: 60,
          idem_key: null, idem_hash: null, webhook_url: null,
        },
        3,
        1,
      );
      expect({ sig: job.models_sig, newModelSet }).toEqual({ sig, newModelSet: false });
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

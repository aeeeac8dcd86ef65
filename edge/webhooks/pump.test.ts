import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JobQueue } from "../queue/JobQueue.ts";
import { queueFor } from "../queue/stub.ts";

const state = (attempts: number) => ({ delivered: false, attempts: Array.from({ length: attempts }, (_, i) => ({ at: i, status: null, error: "x" })), event_id: "msg_claims" });

describe("webhook delivery claims", () => {
  it("records an outcome only while its delivery's claim stands, and leaves out owners already at their limit", async () => {
    await runInDurableObject(queueFor(env, "webhook-claims"), async (q: JobQueue) => {
      const { store } = q;
      const ids = ["tsk_claim_a.webhook-claims", "tsk_claim_b.webhook-claims"];
      for (const [i, id] of ids.entries()) {
        store.insert({
          id, owner: i === 0 ? "slow-owner" : "other-owner", workflow_id: "sd15_basic", pool: "webhook-claims", priority: 0, params_json: "{}", graph_json: "{}",
          models: [], inputs: [], seed: null, output_format: "png", quality: 90, timeout_s: 60, idem_key: null, idem_hash: null, webhook_url: "https://hooks.example/x",
        }, 3, 1);
        store.setWebhook(id, state(0), 100);
      }
      expect(store.dueWebhooks(1_000, 10).map((j) => j.id).sort()).toEqual([...ids].sort());
      expect(store.dueWebhooks(1_000, 10, ["slow-owner"]).map((j) => j.id)).toEqual([ids[1]]);

      // A delivery claims its row until 5000; a second one started after that claim lapsed claims until 9000.
      store.setWebhook(ids[0]!, state(0), 5_000);
      expect(store.dueWebhooks(1_000, 10).map((j) => j.id)).toEqual([ids[1]]);
      store.setWebhook(ids[0]!, state(0), 9_000);
      // The first finishes late: its outcome is dropped, the newer attempt's stands.
      expect(store.settleWebhook(ids[0]!, 5_000, state(1), null)).toBe(false);
      expect(store.settleWebhook(ids[0]!, 9_000, state(1), 12_000)).toBe(true);
      const after = store.get(ids[0]!)!;
      expect(after.webhook?.attempts).toHaveLength(1);
      expect(after.webhook_next_at).toBe(12_000);
    });
  });
});

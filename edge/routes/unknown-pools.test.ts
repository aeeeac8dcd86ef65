import { env, listDurableObjectIds, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TEST_KEYS } from "../test/bindings.ts";
import { call } from "../test/http.ts";

type Json = Record<string, any>;

/** Pool-shaped names no manifest names, fresh per run so other tests' objects cannot mask a leak. */
const unknownPools = Array.from({ length: 6 }, (_, i) => `nopool${i}-${crypto.randomUUID().slice(0, 8)}`);
const taskId = (pool: string) => `tsk_aaaaaaaaaaaaaaaaaaaa.${pool}`;

async function existingObjectIds(): Promise<Set<string>> {
  return new Set((await listDurableObjectIds(env.JOB_QUEUE)).map((id) => id.toString()));
}

describe("only the pools the manifests name exist", () => {
  it("answers requests naming an unknown pool with 404 and creates no Durable Object for it", async () => {
    const [a, b, c, d, e, f] = unknownPools as [string, string, string, string, string, string];
    const sse = { accept: "text/event-stream" };
    const ws = { upgrade: "websocket" };
    const answers: [string, Response][] = [
      ["GET task", await call("GET", `/tasks/${taskId(a)}`, "alice")],
      ["GET v1 job", await call("GET", `/v1/jobs/${taskId(a)}`, "alice")],
      ["DELETE task", await call("DELETE", `/tasks/${taskId(b)}`, "alice")],
      ["events (SSE)", await call("GET", `/tasks/${taskId(c)}/events`, "alice", undefined, sse)],
      ["events (WS)", await call("GET", `/tasks/${taskId(c)}/events`, "alice", undefined, ws)],
      ["agent connect", await SELF.fetch(`http://edge.test/agent/connect?pool=${d}&agent_id=a1`, { headers: { ...ws, authorization: `Bearer ${TEST_KEYS.agent}` } })],
      ["agents", await call("GET", `/agents?pool=default,${e}`, "admin")],
      ["metrics", await call("GET", `/metrics?pool=${f}`, "admin")],
      ["drain", await call("POST", `/agents/x/drain?pool=${f}`, "admin")],
    ];
    for (const [what, res] of answers) {
      expect(res.status, what).toBe(404);
      expect(((await res.json()) as Json).error.code, what).toBe("not_found");
    }
    const ids = await existingObjectIds();
    for (const pool of unknownPools) expect(ids.has(env.JOB_QUEUE.idFromName(pool).toString()), pool).toBe(false);
  });

  it("still refuses a malformed pool name with 400", async () => {
    expect((await call("GET", "/metrics?pool=Bad%20Pool", "admin")).status).toBe(400);
    expect((await call("GET", "/agents?pool=..", "admin")).status).toBe(400);
  });

  it("serves the known pools as before", async () => {
    expect((await call("GET", "/metrics?pool=default", "admin")).status).toBe(200);
    expect((await call("GET", "/agents?pool=default", "admin")).status).toBe(200);
    expect((await call("GET", `/tasks/${taskId("default")}`, "alice")).status).toBe(404);
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import { LISTER_KEY } from "../test/bindings.ts";
import { call, submit as submitAs, type Who } from "../test/http.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";

type Json = Record<string, any>;
// "carol" in this file is a key no other test file uses: its jobs are only the ones made here.
const asLister = { authorization: `Bearer ${LISTER_KEY}` };
const list = async (query: string, who: Who | "carol" = "carol") => {
  const res = await call("GET", `/v1/jobs${query}`, who === "carol" ? "none" : who, undefined, who === "carol" ? asLister : {});
  return { res, body: (await res.json()) as Json };
};
async function submit(params: Record<string, unknown>, who: Who | "carol") {
  if (who !== "carol") return submitAs(params, who);
  const res = await call("POST", "/v1/jobs", "none", { workflow_id: "sd15_basic", params }, asLister);
  return { res, body: (await res.json()) as Json };
}
const createdMs = (v: Json) => Date.parse(v.created_at);

describe("GET /v1/jobs", () => {
  // Other files leave bob's queue at its cap; start each test from an empty queue.
  beforeEach(drainDefaultPool);

  it("lists the calling key's jobs, newest first, never another key's", async () => {
    const mine = new Set<string>();
    for (let i = 0; i < 3; i++) mine.add((await submit({ prompt: `carol ${i}` }, "carol")).body.task_id);
    const bobs = (await submit({ prompt: "bob's" }, "bob")).body.task_id;
    const { res, body } = await list("?limit=100");
    expect(res.status).toBe(200);
    const ids = body.jobs.map((j: Json) => j.task_id);
    expect(new Set(ids.slice(0, 3))).toEqual(mine);
    expect(ids).not.toContain(bobs);
    const times = body.jobs.map(createdMs);
    expect(times).toEqual([...times].sort((a: number, b: number) => b - a));
    expect(body.jobs[0]).toMatchObject({ status: "PENDING", workflow_id: "sd15_basic" });
  });

  it("pages with next_cursor: the newest jobs once each, in order; no cursor once nothing is left", async () => {
    for (let i = 0; i < 3; i++) await submit({ prompt: `paged ${i}` }, "carol");
    const newest = (await list("?limit=10")).body.jobs.map((j: Json) => j.task_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 4; page++) {
      const { body }: { body: Json } = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(body.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...body.jobs.map((j: Json) => j.task_id));
      cursor = body.next_cursor;
      if (cursor === null) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, newest.length)).toEqual(newest);
    const none = (await list("?workflow_id=no_such_workflow&limit=1")).body;
    expect(none).toEqual({ jobs: [], next_cursor: null });
  });

  it("filters by status and workflow", async () => {
    const { body } = await submit({ prompt: "to cancel" }, "carol");
    expect((await call("DELETE", `/tasks/${body.task_id}`, "none", undefined, asLister)).status).toBe(200);
    const cancelled = (await list("?status=CANCELLED&limit=100")).body.jobs;
    expect(cancelled.map((j: Json) => j.task_id)).toContain(body.task_id);
    expect(cancelled.every((j: Json) => j.status === "CANCELLED")).toBe(true);
    const pending = (await list("?status=PENDING,PROGRESS&limit=100")).body.jobs;
    expect(pending.map((j: Json) => j.task_id)).not.toContain(body.task_id);
    expect((await list("?workflow_id=no_such_workflow")).body.jobs).toEqual([]);
  });

  it("lets an admin list every key's jobs and one owner's; a client may not filter by owner", async () => {
    const bobs = (await submit({ prompt: "bob for admin" }, "bob")).body.task_id;
    const carols = (await submit({ prompt: "carol for admin" }, "carol")).body.task_id;
    const every = (await list("?limit=2", "admin")).body.jobs.map((j: Json) => j.task_id);
    expect(every).toEqual(expect.arrayContaining([bobs, carols]));
    const onlyLister = (await list("?owner=lister&limit=100", "admin")).body.jobs.map((j: Json) => j.task_id);
    expect(onlyLister).toContain(carols);
    expect(onlyLister).not.toContain(bobs);
    const refused = await list("?owner=bob");
    expect(refused.res.status).toBe(400);
    expect(refused.body.error.details[0]).toMatchObject({ path: "owner", rule: "admin_only" });
  });

  it("refuses a bad query with the field and the rule", async () => {
    for (const [query, path] of [["?status=DONE", "status"], ["?limit=0", "limit"], ["?limit=101", "limit"], ["?cursor=forged", "cursor"], ["?colour=red", "(body)"]] as const) {
      const { res, body } = await list(query);
      expect(res.status, query).toBe(400);
      expect(body.error.code).toBe("bad_request");
      expect(JSON.stringify(body.error.details), query).toContain(path === "(body)" ? "colour" : path);
    }
    expect((await list("", "none")).res.status).toBe(401);
  });
});

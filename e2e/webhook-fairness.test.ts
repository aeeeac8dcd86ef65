import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalEdge, type LocalEdge } from "../scripts/local/edge.ts";
import { Api, testKeys, until } from "./helpers.ts";
import { RawAgent } from "./raw-agent.ts";

/**
 * A webhook receiver on 127.0.0.1. `hold` keeps every request open (no answer) until `release()`;
 * it records each delivery's task id, how many requests are open now and at most, and how many
 * ended (answered, or dropped by the edge's request timeout).
 */
async function receiver(hold: boolean) {
  const seen: string[] = [];
  const held: ServerResponse[] = [];
  const counts = { open: 0, maxOpen: 0, ended: 0 };
  let holding = hold;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    counts.open++;
    counts.maxOpen = Math.max(counts.maxOpen, counts.open);
    res.on("close", () => {
      counts.open--;
      counts.ended++;
    });
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push((JSON.parse(body) as { data: { task_id: string } }).data.task_id);
      if (holding) held.push(res);
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    seen, counts,
    url: `http://127.0.0.1:${port}/hook`,
    host: `127.0.0.1:${port}`,
    release() {
      holding = false;
      for (const res of held.splice(0)) res.end();
    },
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(r);
    }),
  };
}

let edge: LocalEdge;
let slow: Awaited<ReturnType<typeof receiver>>;
let fast: Awaited<ReturnType<typeof receiver>>;
const keys = testKeys("fair");
const agents: RawAgent[] = [];
beforeAll(async () => {
  slow = await receiver(true);
  fast = await receiver(false);
  edge = await startLocalEdge({ keys, vars: { WEBHOOK_ALLOW_HOSTS: `${slow.host},${fast.host}`, WEBHOOK_BACKOFF_MS: "200,200,200", LEASE_TTL_MS: "1000" } });
});
afterAll(async () => {
  for (const a of agents) a.kill();
  slow?.release();
  await edge?.close();
  await slow?.close();
  await fast?.close();
});

it("lets neither another owner's webhook nor a lease re-dispatch wait on one owner's slow receiver", async () => {
  const owner = new Api(edge.url, keys.client);
  const other = new Api(edge.url, keys.others!.other!);
  // Six finished jobs of one owner, whose receiver answers nothing until the test says so.
  const stuck: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { task_id } = await owner.submit({ prompt: `slow hook ${i}` }, "sd15_basic", { webhook_url: slow.url, priority: -100 });
    await owner.cancel(task_id);
    stuck.push(task_id);
  }
  await until(() => slow.counts.open >= 2, 20_000, "deliveries in flight to the slow receiver");

  // Another owner's webhook arrives while every one of those requests is still open.
  const { task_id: quick } = await other.submit({ prompt: "fast hook" }, "sd15_basic", { webhook_url: fast.url, priority: -100 });
  await other.cancel(quick);
  await until(() => fast.seen.includes(quick), 20_000, "the other owner's webhook");
  expect(slow.counts.ended).toBe(0);

  // A lease lapses (its agent lost power) and the job goes to the idle agent, still before any slow request ended.
  const lost = await RawAgent.connect(edge.url, keys.agent, "agt-fair-lost");
  agents.push(lost);
  const { task_id: job } = await other.submit({ prompt: "re-dispatch me" }, "sd15_basic", { priority: 100 });
  await until(() => lost.jobs().some((j) => j.job_id === job), 20_000, "the first lease");
  lost.kill();
  const idle = await RawAgent.connect(edge.url, keys.agent, "agt-fair-idle");
  agents.push(idle);
  idle.keepAlive(200);
  await until(() => idle.jobs().some((j) => j.job_id === job), 20_000, "the re-dispatch after the lease expired");
  expect(idle.jobs().find((j) => j.job_id === job)!.attempt).toBe(2);
  expect(slow.counts.ended).toBe(0);

  // The slow owner never had more than its share in flight; once it answers, its backlog drains.
  expect(slow.counts.maxOpen).toBe(2);
  slow.release();
  await until(async () => {
    for (const id of stuck) if ((await owner.get(id)).webhook?.delivered !== true) return false;
    return true;
  }, 30_000, "the slow owner's backlog delivered");
  expect(new Set(slow.seen)).toEqual(new Set(stuck));
});

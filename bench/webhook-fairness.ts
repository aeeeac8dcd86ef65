/**
 * Webhook fairness figures (issue 11): one owner has 150 finished jobs whose webhook receiver
 * answers after 15 s; meanwhile another owner's webhook latency and the time from a lease's
 * expiry to its re-dispatch are measured on the real edge (workerd via Miniflare).
 *
 *   ./node_modules/.bin/node bench/webhook-fairness.ts [--jobs 150] [--samples 9]
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { Api, testKeys, until } from "../e2e/helpers.ts";
import { RawAgent } from "../e2e/raw-agent.ts";
import { startLocalEdge } from "../scripts/local/edge.ts";

const { values } = parseArgs({ options: { jobs: { type: "string", default: "150" }, samples: { type: "string", default: "9" }, "slow-ms": { type: "string", default: "15000" } } });
const JOBS = Number(values.jobs);
const SAMPLES = Number(values.samples);
const SLOW_MS = Number(values["slow-ms"]);
const LEASE_TTL_MS = 3_000;

/** A receiver that answers every POST after `delayMs`, noting when each task's delivery arrived. */
async function receiver(delayMs: number) {
  const arrivals = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const id = (JSON.parse(body) as { data: { task_id: string } }).data.task_id;
      if (!arrivals.has(id)) arrivals.set(id, Date.now());
      const t = setTimeout(() => res.end(), delayMs);
      res.on("close", () => clearTimeout(t));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { arrivals, url: `http://127.0.0.1:${port}/hook`, host: `127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

const slow = await receiver(SLOW_MS);
const fast = await receiver(0);
const keys = testKeys("whbench");
const edge = await startLocalEdge({ keys, vars: { WEBHOOK_ALLOW_HOSTS: `${slow.host},${fast.host}`, LEASE_TTL_MS: String(LEASE_TTL_MS), MAX_QUEUED_PER_KEY: "100000" } });
const owner = new Api(edge.url, keys.client);
const other = new Api(edge.url, keys.others!.other!);
const agents: RawAgent[] = [];
try {
  // 150 finished (cancelled) jobs of one owner, each with a webhook to the 15 s receiver.
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < JOBS) {
      const i = next++;
      const { task_id } = await owner.submit({ prompt: `slow ${i}` }, "sd15_basic", { webhook_url: slow.url, priority: -100 });
      await owner.cancel(task_id);
    }
  }));
  await until(() => slow.arrivals.size >= 1, 30_000, "the first slow delivery");

  const webhookMs: number[] = [];
  const redispatchMs: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    // Another owner's job ends: how long until its receiver hears of it?
    const { task_id } = await other.submit({ prompt: `fast ${s}` }, "sd15_basic", { webhook_url: fast.url, priority: -100 });
    const cancelledAt = Date.now();
    await other.cancel(task_id);
    await until(() => fast.arrivals.has(task_id), 120_000, "the other owner's webhook");
    webhookMs.push(fast.arrivals.get(task_id)! - cancelledAt);

    // A lease lapses (its agent lost power): how long from its expiry until another agent has the job?
    const lost = await RawAgent.connect(edge.url, keys.agent, `whbench-lost-${s}`);
    agents.push(lost);
    const { task_id: job } = await other.submit({ prompt: `lease ${s}` }, "sd15_basic", { priority: 100 });
    await until(() => lost.jobs().some((j) => j.job_id === job), 30_000, "the first lease");
    const first = lost.jobs().find((j) => j.job_id === job)!;
    lost.kill();
    // An idle agent is waiting when the lease lapses.
    const idle = await RawAgent.connect(edge.url, keys.agent, `whbench-idle-${s}`);
    agents.push(idle);
    idle.keepAlive(500);
    await until(() => idle.jobArrivals.has(job), 120_000, "the re-dispatch");
    redispatchMs.push(idle.jobArrivals.get(job)! - first.deadline);
    const leased = idle.jobs().find((j) => j.job_id === job)!;
    idle.send({ type: "fail", job_id: job, lease_id: leased.lease_id, retryable: false, error: { code: "bench_done", message: "measured" } });
    await new Promise((r) => setTimeout(r, 200));
    idle.kill();
  }
  console.log(JSON.stringify({
    jobs_with_slow_webhooks: JOBS, slow_receiver_ms: SLOW_MS, lease_ttl_ms: LEASE_TTL_MS,
    slow_deliveries_started: slow.arrivals.size,
    other_owner_webhook_ms: { p50: p50(webhookMs), samples: webhookMs },
    lease_expiry_to_redispatch_ms: { p50: p50(redispatchMs), samples: redispatchMs },
  }, null, 2));
} finally {
  for (const a of agents) a.kill();
  await edge.close();
  await slow.close();
  await fast.close();
}

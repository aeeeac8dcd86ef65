/**
 * Time from submit to the first sampler step for a job whose checkpoint no rig has (issue 15):
 * the edge asks the agent to fetch it from the catalog, the agent downloads it from a local file
 * server, verifies its sha256, places it in the sim's models folder, and the job runs. Each sample
 * is a new model, so each pays the whole fetch. Prints the medians of each leg.
 *
 *   ./node_modules/.bin/node bench/fetch-first-step.ts [--samples 5] [--mib 256]
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { TaskEventSchema } from "../shared/api.ts";
import { startStack } from "../scripts/local/stack.ts";
import { now } from "../sim/stats.ts";
import { FAST_AGENT, sd15RawGraph, testKeys } from "../e2e/helpers.ts";

const { values } = parseArgs({ options: { samples: { type: "string", default: "5" }, mib: { type: "string", default: "256" } } });
const SAMPLES = Number(values.samples);
const BYTES = Number(values.mib) * 1024 * 1024;

// One body, a different file name per sample (so each is fetched anew); the pin is the same.
const body = randomBytes(BYTES);
const sha256 = createHash("sha256").update(body).digest("hex");
const served = new Map<string, { firstByteAt: number; lastByteAt: number }>();
const server = createServer((req, res) => {
  const name = (req.url ?? "").slice(1);
  if (!name.startsWith("bench-")) return void res.writeHead(404).end();
  const firstByteAt = now();
  res.writeHead(200, { "content-length": body.length });
  res.end(body, () => served.set(name, { firstByteAt, lastByteAt: now() }));
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const names = Array.from({ length: SAMPLES }, (_, i) => `bench-${i}.safetensors`);
const ini = ["[checkpoints]", ...names.map((n) => `_ = ${origin}/${n}#sha256=${sha256}&size=${BYTES}`)].join("\n");

const stack = await startStack({ keys: testKeys("fetchbench"), agents: 1, sim: { stepMs: 50 }, agent: { ...FAST_AGENT }, edge: { vars: { MODEL_CATALOG_INI: ini } } });

type Legs = { plan: number; download: number; place: number; firstStep: number; total: number; fetchMs: number };
const legs: Legs[] = [];
try {
  for (const name of names) {
    const graph = sd15RawGraph({ prompt: "fetched on demand", checkpoint: name, steps: 20 });

    const submittedAt = now();
    const res = await fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
      body: JSON.stringify({ graph }),
    });
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
    const { task_id, events_url } = (await res.json()) as { task_id: string; events_url: string };
    const firstStepAt = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(events_url.replace(/^http/, "ws"), { headers: { authorization: `Bearer ${stack.keys.client}` } });
      const timer = setTimeout(() => reject(new Error(`${task_id}: no step within 120 s`)), 120_000);
      ws.on("message", (data) => {
        const e = TaskEventSchema.parse(JSON.parse(data.toString()));
        const failed = e.type === "state" && ["FAILURE", "CANCELLED"].includes(e.task.status);
        if (failed) reject(new Error(`${task_id}: ${JSON.stringify(e.task.error)}`));
        // The first step arrives as the running state's progress, or as a progress event.
        const progress = e.type === "progress" ? e.progress : e.type === "state" ? e.task.progress : null;
        if ((progress?.unit === "steps" && progress.current >= 1) || failed) {
          clearTimeout(timer);
          ws.terminate();
          resolve(now());
        }
      });
      ws.on("error", reject);
    });
    const sent = served.get(name)!;
    const prompted = stack.sims[0]!.stats().requests.filter((r) => r.method === "POST" && r.path === "/prompt").at(-1)!;
    const view = (await (await fetch(`${stack.edge.url}/tasks/${task_id}`, { headers: { authorization: `Bearer ${stack.keys.client}` } })).json()) as { timings: { fetch_ms: number | null } };
    legs.push({
      plan: sent.firstByteAt - submittedAt,
      download: sent.lastByteAt - sent.firstByteAt,
      place: prompted.at - sent.lastByteAt,
      firstStep: firstStepAt - prompted.at,
      total: firstStepAt - submittedAt,
      fetchMs: view.timings.fetch_ms ?? NaN,
    });
  }
} finally {
  await stack.close();
  server.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (key: keyof Legs) => median(legs.map((l) => l[key])).toFixed(1).padStart(8);
console.log(`model fetched on demand: ${values.mib} MiB checkpoint from a local file server, ${SAMPLES} samples, medians (ms)`);
console.log(`  submit → agent's GET reaches the file server   ${ms("plan")}   (edge plans, sends fetch; agent checks room, starts)`);
console.log(`  first byte → last byte sent                     ${ms("download")}   (transfer over loopback, hashing as it streams)`);
console.log(`  last byte → ComfyUI (sim) receives the prompt   ${ms("place")}   (verify, place, inventory, fetch_result, lease, job start)`);
console.log(`  prompt received → first step on the events feed ${ms("firstStep")}   (load + first sampler step + relay)`);
console.log(`  submit → first step                             ${ms("total")}`);
console.log(`  the task view's timings.fetch_ms                ${ms("fetchMs")}`);

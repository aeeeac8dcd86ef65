import { SELF } from "cloudflare:test";
import type { JobMessage, LeaseRef } from "../../shared/protocol.ts";
import { TestAgent } from "./agent-socket.ts";
import { call } from "./http.ts";

type Json = Record<string, any>;

export const ALL_MODELS = {
  checkpoints: ["v1-5-pruned-emaonly.safetensors"],
  loras: ["Flux-Ghibli-Art-LoRA.safetensors"],
  unet: ["flux1-schnell-Q4_K_S.gguf", "flux1-dev-Q4_K_S.gguf"],
  vae: ["ae.safetensors"],
  clip: ["clip_l.safetensors", "t5-v1_1-xxl-encoder-Q5_K_M.gguf"],
};

/** Fails (for good) whatever the default pool has queued, so a test starts from an empty queue. */
export async function drainDefaultPool(): Promise<void> {
  const sweeper = await TestAgent.connect({ id: `sweeper-${crypto.randomUUID()}` });
  sweeper.hello({ capacity: 64, inventory: ALL_MODELS });
  await sweeper.next("welcome");
  for (;;) {
    const job = await sweeper.next("job", 300).catch(() => null);
    if (!job) break;
    sweeper.send({ type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false, error: { code: "test_drain", message: "drained by test" } });
  }
  sweeper.close();
}

/** Heartbeats every 400 ms (well inside the test heartbeat period), renewing the leases `leases()` names. */
export function keepAlive(agent: TestAgent, leases: () => LeaseRef[] = () => []): () => void {
  const timer = setInterval(() => {
    if (!agent.closed) agent.send({ type: "heartbeat", leases: leases() });
  }, 400);
  return () => clearInterval(timer);
}

const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3, 4]);

/** Runs a job to SUCCESS as a real agent would: uploads one output under the lease's grant, then completes naming it. */
export async function succeed(agent: TestAgent, job: JobMessage): Promise<void> {
  const { base_url, exp, sig } = job.upload;
  const put = await SELF.fetch(`${base_url}/0?exp=${exp}&sig=${sig}`, {
    method: "PUT",
    headers: { "content-type": "image/png", "content-length": String(PNG.byteLength) },
    body: PNG,
  });
  if (put.status !== 201) throw new Error(`upload refused: ${put.status} ${await put.text()}`);
  const { key } = (await put.json()) as Json;
  agent.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [{ key, content_type: "image/png", bytes: PNG.byteLength, filename: "out.png", node_id: "9" }] });
  await agent.next("ack", 5000, (a) => a.lease_id === job.lease_id);
}

export const task = async (id: string): Promise<Json> => (await (await call("GET", `/tasks/${id}`, "admin")).json()) as Json;

export async function agentListing(id: string): Promise<Json | undefined> {
  const list = (await (await call("GET", "/agents", "admin")).json()) as Json;
  return (list.agents as Json[]).find((a) => a.agent_id === id);
}

/** A Prometheus sample's value for the default pool (0 when absent). */
export async function metric(name: string): Promise<number> {
  const text = await (await call("GET", "/metrics", "admin")).text();
  const m = new RegExp(`^${name}\\{pool="default"\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

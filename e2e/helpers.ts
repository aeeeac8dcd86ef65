import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import type { TaskView } from "../shared/api.ts";
import type { EdgeKeys } from "../scripts/local/edge.ts";

export const TERMINAL = ["SUCCESS", "FAILURE", "CANCELLED"];

export function testKeys(tag: string): EdgeKeys {
  const rnd = Math.random().toString(36).slice(2, 10);
  return { client: `${tag}-client-${rnd}-0000`, agent: `${tag}-agent-${rnd}-00000`, admin: `${tag}-admin-${rnd}-00000`, others: { other: `${tag}-other-${rnd}-00000` } };
}

export class Api {
  readonly url: string;
  readonly key: string;
  constructor(url: string, key: string) {
    this.url = url;
    this.key = key;
  }
  async submit(params: Record<string, unknown>, workflow = "sd15_basic", extra: Record<string, unknown> = {}) {
    const res = await fetch(`${this.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.key}`, "content-type": "application/json" },
      body: JSON.stringify({ workflow_id: workflow, params, ...extra }),
    });
    const body = (await res.json()) as { task_id: string; events_url: string; status_url: string; seed: number };
    if (res.status !== 202) throw new Error(`submit failed ${res.status}: ${JSON.stringify(body)}`);
    return body;
  }
  async get(id: string): Promise<TaskView> {
    const res = await fetch(`${this.url}/tasks/${id}`, { headers: { authorization: `Bearer ${this.key}` } });
    if (res.status !== 200) throw new Error(`get ${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as TaskView;
  }
  async cancel(id: string) {
    return fetch(`${this.url}/tasks/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${this.key}` } });
  }
  /** Polls until the task is terminal (or `until` holds), failing after `ms`. */
  async waitFor(id: string, until: (t: TaskView) => boolean = (t) => TERMINAL.includes(t.status), ms = 30_000): Promise<TaskView> {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = await this.get(id);
      if (until(t)) return t;
      if (Date.now() > deadline) throw new Error(`task ${id} still ${t.status}/${t.state} after ${ms} ms: ${JSON.stringify(t.error)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function decodePng(bytes: Uint8Array): { width: number; height: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height };
}

export const until = async (cond: () => boolean | Promise<boolean>, ms = 20_000, what = "condition") => {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** Tuning that makes failures show up in seconds instead of minutes. */
export const FAST_AGENT = {
  logLevel: "silent" as const,
  tuning: { reconnectMinMs: 50, reconnectMaxMs: 400, pollMs: 100, comfyDownMs: 3000, stopWaitMs: 2000, uploadMinMs: 50, ackWaitMs: 1000, welcomeTimeoutMs: 3000 },
};

/**
 * The project's SD 1.5 workflow as a raw graph (ComfyUI API format), without its LoRA node (a
 * LoraLoader needs a real file name: ComfyUI refuses "None"), small and quick, with another
 * checkpoint or an extra image node between decode and save when asked.
 */
export function sd15RawGraph(opts: { prompt: string; checkpoint?: string; steps?: number; imageNode?: string }): Record<string, unknown> {
  type Node = Record<string, unknown> & { inputs: Record<string, unknown> };
  const graph = JSON.parse(readFileSync(join(import.meta.dirname, "../manifests/workflows/sd15_basic.json"), "utf8")) as Record<string, Node>;
  delete graph["10"];
  graph["6"]!.inputs.clip = ["4", 1];
  graph["7"]!.inputs.clip = ["4", 1];
  graph["3"]!.inputs.model = ["4", 0];
  graph["6"]!.inputs.text = opts.prompt;
  Object.assign(graph["5"]!.inputs, { width: 64, height: 64 });
  graph["3"]!.inputs.steps = opts.steps ?? 2;
  if (opts.checkpoint) graph["4"]!.inputs.ckpt_name = opts.checkpoint;
  if (opts.imageNode) {
    graph["20"] = { class_type: opts.imageNode, inputs: { image: ["8", 0], strength: 0.5 }, _meta: { title: "Rig-only custom node" } };
    graph["9"]!.inputs.images = ["20", 0];
  }
  return graph;
}

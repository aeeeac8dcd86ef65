import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEdge, type LocalEdge } from "../../scripts/local/edge.ts";
import { gradientPng } from "../testing/png.ts";
import { testKeys } from "../testing/keys.ts";
import { ComfyEdgeClient } from "./client.ts";
import { ComfyEdgeError, isComfyEdgeError } from "./errors.ts";

// The edge alone, with no agent: every job stays PENDING until it is cancelled.
const keys = testKeys();
let edge: LocalEdge;
let client: ComfyEdgeClient;

beforeAll(async () => {
  edge = await startLocalEdge({ keys });
  client = new ComfyEdgeClient({ url: edge.url, apiKey: keys.client });
});
afterAll(() => edge?.close());

async function caught(p: Promise<unknown>): Promise<ComfyEdgeError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(isComfyEdgeError(e)).toBe(true);
  return e as ComfyEdgeError;
}

describe("catalog", () => {
  it("lists workflows and LoRAs and reads one workflow's parameters", async () => {
    const workflows = await client.listWorkflows();
    expect(workflows.map((w) => w.id)).toEqual(expect.arrayContaining(["flux_default", "sd15_basic", "sd15_img2img"]));
    const sd15 = await client.getWorkflow("sd15_basic");
    expect(sd15.parameters.find((p) => p.name === "steps")).toMatchObject({ type: "integer", min: 1, max: 100 });
    const loras = await client.listLoras();
    expect(loras.find((l) => l.name === "Flux-Ghibli-Art-LoRA.safetensors")?.prefix).toBe("Ghibli Art");
  });

  it("turns an unknown workflow into unknown_workflow 404", async () => {
    const e = await caught(client.getWorkflow("nope"));
    expect([e.code, e.status]).toEqual(["unknown_workflow", 404]);
  });
});

describe("submit, get, cancel", () => {
  it("submits, reads back PENDING, cancels, and refuses a second cancel with not_cancellable", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "a red fox", seed: 42 } });
    expect(job).toMatchObject({ status: "PENDING", seed: 42 });
    expect(job.events_url).toContain("?token=");
    const task = await client.get(job.task_id);
    expect(task).toMatchObject({ task_id: job.task_id, status: "PENDING", workflow_id: "sd15_basic" });
    expect((await client.cancel(job.task_id)).status).toBe("CANCELLED");
    const again = await caught(client.cancel(job.task_id));
    expect([again.code, again.status]).toEqual(["not_cancellable", 409]);
  });

  it("carries every field error of invalid params: path, rule and message", async () => {
    const e = await caught(client.submit({ workflow_id: "sd15_basic", params: { steps: 3.9, width: "512", bogus: 1 } }));
    expect(e).toBeInstanceOf(ComfyEdgeError);
    expect([e.name, e.code, e.status]).toEqual(["ComfyEdgeError", "invalid_params", 400]);
    const rules = Object.fromEntries(e.details.map((d) => [d.path, d.rule]));
    expect(rules).toMatchObject({ "params.steps": "integer", "params.width": "type", "params.bogus": "unknown", "params.prompt": "required" });
    expect(e.details.every((d) => d.message.length > 5)).toBe(true);
  });

  it("reports a bad key as unauthorized 401, and another key's task as not_found", async () => {
    const bad = new ComfyEdgeClient({ url: edge.url, apiKey: "not-a-real-key-000000" });
    const e = await caught(bad.listWorkflows());
    expect([e.code, e.status, e.isAuth]).toEqual(["unauthorized", 401, true]);
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "mine" } });
    const bob = new ComfyEdgeClient({ url: edge.url, apiKey: keys.others!.bob! });
    expect((await caught(bob.get(job.task_id))).code).toBe("not_found");
    await client.cancel(job.task_id);
  });

  it("reports an unreachable server as a network error", async () => {
    const gone = new ComfyEdgeClient({ url: "http://127.0.0.1:9", apiKey: keys.client });
    const e = await caught(gone.listLoras());
    expect([e.code, e.status]).toEqual(["network", null]);
  });

  it("uploads an image and submits it as the img2img input", async () => {
    const upload = await client.uploadImage(gradientPng(), "image/png");
    expect(upload.upload_id).toMatch(/^upl_[0-9a-f]{24}$/);
    const job = await client.submit({ workflow_id: "sd15_img2img", params: { prompt: "redraw", input_image: upload.upload_id } });
    expect(job.status).toBe("PENDING");
    await client.cancel(job.task_id);
    const e = await caught(client.uploadImage(new TextEncoder().encode("hello"), "text/plain" as "image/png"));
    expect([e.code, e.status]).toEqual(["unsupported_media_type", 415]);
  });

  it("refuses to download a task that has no result", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "x" } });
    const cancelled = await client.cancel(job.task_id);
    expect((await caught(client.download(cancelled, "/tmp/never"))).code).toBe("no_result");
  });

  it("submits a raw graph with the local stack's client key; a key without raw: true gets raw_not_allowed 403 with the field", async () => {
    const graph = {
      "5": { class_type: "EmptyLatentImage", inputs: { width: 64, height: 64, batch_size: 1 } },
      "9": { class_type: "SaveImage", inputs: { filename_prefix: "sdk", images: ["5", 0] } },
    };
    const job = await client.submit({ graph, priority: -5 });
    const task = await client.get(job.task_id);
    expect(task).toMatchObject({ status: "PENDING", workflow_id: null, seed: null });
    expect(task.graph_sha256).toMatch(/^[0-9a-f]{64}$/);
    await client.cancel(job.task_id);
    const bob = new ComfyEdgeClient({ url: edge.url, apiKey: keys.others!.bob! });
    const e = await caught(bob.submit({ graph }));
    expect([e.code, e.status]).toEqual(["raw_not_allowed", 403]);
    expect(e.details).toEqual([expect.objectContaining({ path: "graph" })]);
  });
});

describe("wait: feed, SSE, polling fallback, timeout, abort", () => {
  async function waitWhileCancelling(opts: Parameters<ComfyEdgeClient["wait"]>[1], ref: "job" | "id") {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "wait" } });
    const states: string[] = [];
    let seen!: () => void;
    const first = new Promise<void>((r) => (seen = r));
    const waiting = client.wait(ref === "job" ? job : job.task_id, { ...opts, onState: (t) => (states.push(t.status), seen()) });
    await first;
    await client.cancel(job.task_id);
    const final = await waiting;
    return { final, states };
  }

  it("follows the WebSocket feed from the current state to CANCELLED", async () => {
    let fellBack = false;
    const { final, states } = await waitWhileCancelling({ transport: "websocket", onFallback: () => (fellBack = true) }, "job");
    expect(final.status).toBe("CANCELLED");
    expect(states).toEqual(["PENDING", "CANCELLED"]);
    expect(fellBack).toBe(false);
  });

  it("follows the SSE feed with the API key when only the id is known", async () => {
    let fellBack = false;
    const { final, states } = await waitWhileCancelling({ onFallback: () => (fellBack = true) }, "id");
    expect(final.status).toBe("CANCELLED");
    expect(states).toEqual(["PENDING", "CANCELLED"]);
    expect(fellBack).toBe(false);
  });

  it("falls back to polling when the feed is refused", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "fallback" } });
    const broken = { task_id: job.task_id, events_url: job.events_url.replace(/token=[^&]+/, "token=1.forged") };
    const fallbacks: ComfyEdgeError[] = [];
    const states: string[] = [];
    let polled!: () => void;
    const first = new Promise<void>((r) => (polled = r));
    const waiting = client.wait(broken, { pollIntervalMs: 50, onFallback: (e) => fallbacks.push(e), onState: (t) => (states.push(t.status), polled()) });
    await first;
    await client.cancel(job.task_id);
    expect((await waiting).status).toBe("CANCELLED");
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.code).toBe("feed_failed");
    expect(states).toEqual(["PENDING", "CANCELLED"]);
  });

  it("gives up with a timeout error, leaving the task queued", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "slow" } });
    for (const transport of ["websocket", "poll"] as const) {
      const e = await caught(client.wait(job, { transport, timeoutMs: 300, pollIntervalMs: 50 }));
      expect(e.code).toBe("timeout");
      expect(e.message).toContain(job.task_id);
    }
    expect((await client.get(job.task_id)).status).toBe("PENDING");
    await client.cancel(job.task_id);
  });

  it("stops with an aborted error when its signal fires", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "abort" } });
    const controller = new AbortController();
    const waiting = client.wait(job, { signal: controller.signal, onState: () => controller.abort() });
    expect((await caught(waiting)).code).toBe("aborted");
    await client.cancel(job.task_id);
  });

  it("yields the same events through the async iterator", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "iterate" } });
    const seen: string[] = [];
    for await (const event of client.events(job)) {
      seen.push(event.type === "state" ? event.task.status : "progress");
      if (seen.length === 1) await client.cancel(job.task_id);
    }
    expect(seen).toEqual(["PENDING", "CANCELLED"]);
  });
});

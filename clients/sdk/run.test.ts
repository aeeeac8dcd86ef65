import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stack } from "../../scripts/local/stack.ts";
import { decodePng } from "../testing/png.ts";
import { startClientStack } from "../testing/stack.ts";
import { ComfyEdgeClient } from "./client.ts";
import type { ComfyEdgeError } from "./errors.ts";
import type { WaitOptions } from "./wait.ts";

// Edge + sim + agent: jobs really run, step by step, and their PNGs land in R2.
let stack: Stack;
let client: ComfyEdgeClient;
let dir: string;

beforeAll(async () => {
  stack = await startClientStack();
  client = new ComfyEdgeClient({ url: stack.edge.url, apiKey: stack.keys.client });
  dir = await mkdtemp(join(tmpdir(), "comfy-sdk-"));
});
afterAll(async () => {
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runOnce(ref: "job" | "id" | "broken", opts: WaitOptions) {
  const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "a red fox", steps: 6, width: 64, height: 64 } });
  const states: string[] = [];
  const progress: { current: number; total: number }[] = [];
  const fallbacks: ComfyEdgeError[] = [];
  const target = ref === "job" ? job : ref === "id" ? job.task_id : { task_id: job.task_id, events_url: job.events_url.replace(/token=[^&]+/, "token=1.forged") };
  const task = await client.wait(target, {
    ...opts,
    onState: (t) => states.push(t.status),
    onProgress: (p) => progress.push({ current: p.current, total: p.total }),
    onFallback: (e) => fallbacks.push(e),
  });
  return { job, task, states, progress, fallbacks };
}

describe("a real job, start to finish", () => {
  it("follows the WebSocket feed to SUCCESS with progress, and downloads a PNG that decodes", async () => {
    const { task, states, progress, fallbacks } = await runOnce("job", {});
    expect(fallbacks).toEqual([]);
    expect(task.status).toBe("SUCCESS");
    expect(states.at(-1)).toBe("SUCCESS");
    expect(states).toContain("PROGRESS");
    expect(progress.some((p) => p.total === 6 && p.current >= 1)).toBe(true);
    const paths = await client.download(task, dir);
    expect(paths).toHaveLength(task.result!.outputs.length);
    expect(paths.length).toBeGreaterThan(0);
    for (const [i, path] of paths.entries()) {
      expect(path.startsWith(dir)).toBe(true);
      const bytes = await readFile(path);
      expect(bytes.length).toBe(task.result!.outputs[i]!.bytes);
      expect(decodePng(bytes)).toEqual({ width: 64, height: 64 });
    }
  });

  it("follows the SSE feed (API key, task id only) to SUCCESS with progress", async () => {
    const { task, progress, fallbacks } = await runOnce("id", {});
    expect(fallbacks).toEqual([]);
    expect(task.status).toBe("SUCCESS");
    expect(progress.length).toBeGreaterThan(0);
  });

  it("reaches SUCCESS by polling alone, and by polling after the feed is refused", async () => {
    const polled = await runOnce("job", { transport: "poll", pollIntervalMs: 25 });
    expect(polled.task.status).toBe("SUCCESS");
    expect(polled.fallbacks).toEqual([]);
    const fellBack = await runOnce("broken", { pollIntervalMs: 25 });
    expect(fellBack.fallbacks.map((e) => e.code)).toEqual(["feed_failed"]);
    expect(fellBack.task.status).toBe("SUCCESS");
    expect(fellBack.task.result!.outputs.length).toBeGreaterThan(0);
  });

  it("cancels a running job: the feed ends CANCELLED", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "long", steps: 100, width: 64, height: 64 } });
    let cancelled = false;
    const task = await client.wait(job, {
      onState: (t) => {
        if (t.status === "PROGRESS" && !cancelled) {
          cancelled = true;
          void client.cancel(job.task_id);
        }
      },
    });
    expect(task.status).toBe("CANCELLED");
  });

  it("run(): a short job comes back finished from the submit itself, in one request (Prefer: wait)", async () => {
    const requests: string[] = [];
    const counting = new ComfyEdgeClient({
      url: stack.edge.url,
      apiKey: stack.keys.client,
      fetch: (input, init) => {
        requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname} ${new Headers(init?.headers).get("prefer") ?? ""}`.trim());
        return fetch(input, init);
      },
    });
    const ids: string[] = [];
    const task = await counting.run({ workflow_id: "sd15_basic", params: { prompt: "short", steps: 2, width: 64, height: 64 } }, { waitS: 30, onSubmitted: (id) => ids.push(id) });
    expect(task.status).toBe("SUCCESS");
    expect(task.result!.outputs.length).toBeGreaterThan(0);
    expect(ids).toEqual([task.task_id]);
    expect(requests).toEqual(["POST /v1/jobs wait=30"]);
  });

  it("run(): a job longer than the wait is followed on the feed after the usual 202", async () => {
    const task = await client.run({ workflow_id: "sd15_basic", params: { prompt: "longer", steps: 60, width: 64, height: 64 } }, { waitS: 1 });
    expect(task.status).toBe("SUCCESS");
  });

  it("submitBatch(): N jobs with consecutive seeds run to SUCCESS; getBatch() adds them up", async () => {
    const batch = await client.submitBatch({ workflow_id: "sd15_basic", params: { prompt: "batched", steps: 2, width: 64, height: 64, seed: 7 }, count: 3 });
    expect(batch.seeds).toEqual([7, 8, 9]);
    const done = await Promise.all(batch.task_ids.map((id) => client.wait(id)));
    expect(done.map((t) => t.status)).toEqual(["SUCCESS", "SUCCESS", "SUCCESS"]);
    expect(done.map((t) => t.batch_id)).toEqual([batch.batch_id, batch.batch_id, batch.batch_id]);
    const view = await client.getBatch(batch.batch_id);
    expect(view).toMatchObject({ status: "SUCCESS", counts: { SUCCESS: 3 } });
  });

  it("wait() hands live previews to onPreview when the job asked for them", async () => {
    const job = await client.submit({ workflow_id: "sd15_basic", params: { prompt: "previewed", steps: 30, width: 64, height: 64 }, previews: true });
    const previews: string[] = [];
    const task = await client.wait(job, { onPreview: (p) => previews.push(p.content_type) });
    expect(task.status).toBe("SUCCESS");
    expect(previews.length).toBeGreaterThan(0);
    expect(new Set(previews)).toEqual(new Set(["image/png"]));
  });
});

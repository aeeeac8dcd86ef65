import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskEventSchema, type TaskEvent } from "../shared/api.ts";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { decodePng, FAST_AGENT, testKeys } from "./helpers.ts";

/** Submits and collects every event of the task's WebSocket feed up to its terminal state (bounded). */
async function runWatched(stack: Stack, extra: Record<string, unknown>): Promise<TaskEvent[]> {
  const res = await fetch(`${stack.edge.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
    body: JSON.stringify({ workflow_id: "sd15_basic", params: { prompt: "watched live", steps: 30, width: 64, height: 64 }, ...extra }),
  });
  expect(res.status).toBe(202);
  const { events_url } = (await res.json()) as { events_url: string };
  const ws = new WebSocket(events_url.replace(/^http/, "ws"));
  const events: TaskEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no terminal state on the feed within 30 s")), 30_000);
    ws.on("message", (data) => {
      const event = TaskEventSchema.parse(JSON.parse(data.toString()));
      events.push(event);
      if (event.type === "state" && ["SUCCESS", "FAILURE", "CANCELLED"].includes(event.task.status)) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on("error", reject);
  });
  ws.terminate();
  return events;
}

describe("live previews (previews: true)", () => {
  let stack: Stack;
  beforeAll(async () => {
    // 30 steps of 50 ms: long enough for a few previews at 2 a second.
    stack = await startStack({ keys: testKeys("prv"), agents: 1, sim: { stepMs: 50 }, agent: FAST_AGENT });
  });
  afterAll(async () => stack?.close());

  it("relays ComfyUI's binary preview frames as preview events on the feed, at most 2 a second, while the job runs", async () => {
    const events = await runWatched(stack, { previews: true });
    const previews = events.filter((e): e is Extract<TaskEvent, { type: "preview" }> => e.type === "preview");
    expect(previews.length).toBeGreaterThan(0);
    // 1.5 s of sampling at 2 a second at most, plus the first one.
    expect(previews.length).toBeLessThanOrEqual(5);
    for (const p of previews) {
      expect(p.content_type).toBe("image/png");
      const { width, height } = decodePng(new Uint8Array(Buffer.from(p.data, "base64")));
      expect(Math.max(width, height)).toBeLessThanOrEqual(512);
    }
    const last = events.at(-1)!;
    expect(last.type === "state" && last.task.status).toBe("SUCCESS");
    // Previews come before the result, never after it.
    expect(events.findIndex((e) => e.type === "preview")).toBeLessThan(events.length - 1);
  });

  it("sends none to a job that did not ask", async () => {
    const events = await runWatched(stack, {});
    expect(events.some((e) => e.type === "preview")).toBe(false);
    const last = events.at(-1)!;
    expect(last.type === "state" && last.task.status).toBe("SUCCESS");
  });
});

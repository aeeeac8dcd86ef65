import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import { MAX_ERROR_DETAILS_BYTES, redactPaths } from "./agent-errors.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});

async function agent(): Promise<TestAgent> {
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity: 4 });
  await a.next("welcome");
  return a;
}

const task = async (id: string, who: "alice" | "admin" = "admin") => (await (await call("GET", `/tasks/${id}`, who)).json()) as Json;
const put = (grant: { base_url: string; exp: number; sig: string }, index: number, bytes: Uint8Array) =>
  SELF.fetch(`${grant.base_url}/${index}?exp=${grant.exp}&sig=${grant.sig}`, {
    method: "PUT",
    headers: { "content-type": "image/png", "content-length": String(bytes.byteLength) },
    body: bytes,
  });

describe("the edge verifies what an agent reports", () => {
  it("counts a complete naming no output, or an output never uploaded, as a failed attempt with its cause", async () => {
    const a = await agent();
    const { body } = await submit({ prompt: "verify me" }, "alice", { priority: 100 });
    const first = await a.jobFor(body.task_id);
    a.send({ type: "complete", job_id: first.job_id, lease_id: first.lease_id, outputs: [] });
    expect((await a.next("error", 5000, (m) => m.lease_id === first.lease_id)).code).toBe("no_outputs");
    expect((await a.next("ack", 5000, (m) => m.lease_id === first.lease_id)).of).toBe("complete");
    expect(await task(body.task_id)).toMatchObject({ status: "PENDING", attempts: 1, error: { code: "no_outputs" }, result: null });

    const second = await a.jobFor(body.task_id);
    const claimed = { key: `out/${second.job_id}/${second.lease_id}/3`, content_type: "image/png", bytes: 10, filename: "ghost.png", node_id: "9" };
    a.send({ type: "complete", job_id: second.job_id, lease_id: second.lease_id, outputs: [claimed] });
    expect((await a.next("error", 5000, (m) => m.lease_id === second.lease_id)).code).toBe("output_missing");
    await a.next("ack", 5000, (m) => m.lease_id === second.lease_id);
    expect(await task(body.task_id)).toMatchObject({ status: "PENDING", attempts: 2, error: { code: "output_missing" } });

    // The third attempt uploads for real; the edge's record of size and type wins over the agent's word.
    const third = await a.jobFor(body.task_id);
    const { output } = await a.upload(third);
    a.send({ type: "complete", job_id: third.job_id, lease_id: third.lease_id, outputs: [{ ...output, bytes: 999_999, content_type: "image/webp" }] });
    await a.next("ack", 5000, (m) => m.lease_id === third.lease_id);
    const done = await task(body.task_id);
    expect(done).toMatchObject({ status: "SUCCESS", attempts: 3 });
    expect(done.result.outputs).toEqual([expect.objectContaining({ bytes: output.bytes, content_type: "image/png" })]);
  });

  it("never lets an upload for a lease that already completed replace or delete the delivered output", async () => {
    const a = await agent();
    const { body } = await submit({ prompt: "delivered once" }, "alice", { priority: 100 });
    const job = await a.jobFor(body.task_id);
    const original = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 7, 7, 7]);
    const first = await put(job.upload, 0, original);
    expect(first.status).toBe(201);
    const { key } = (await first.json()) as Json;
    a.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs: [{ key, content_type: "image/png", bytes: original.byteLength, filename: "a.png", node_id: "9" }] });
    await a.next("ack", 5000, (m) => m.lease_id === job.lease_id);

    const late = await put(job.upload, 0, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0]));
    expect(late.status).toBe(409);
    const other = await put(job.upload, 1, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1]));
    expect(other.status).toBe(409);
    const link = new URL((await task(body.task_id)).result.download_url);
    const file = await call("GET", link.pathname + link.search, "none");
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(original);
  });

  it("bounds an agent's error details and shows clients no file paths of the rig", async () => {
    const a = await agent();
    const { body } = await submit({ prompt: "break me" }, "alice", { priority: 100 });
    const job = await a.jobFor(body.task_id);
    const traceback = Array.from({ length: 400 }, (_, i) => `  File "/home/rigops/ComfyUI/nodes_${i}.py", line ${i}, in run\n`);
    a.send({
      type: "fail", job_id: job.job_id, lease_id: job.lease_id, retryable: false,
      error: {
        code: "execution_error",
        message: "FileNotFoundError: No such file: '/home/rigops/ComfyUI/models/checkpoints/v1-5.safetensors' (see C:\\Users\\rig\\ComfyUI\\log.txt)",
        details: { traceback, current_inputs: { path: "/mnt/models/loras/x.safetensors" } },
      },
    });
    await a.next("ack", 5000, (m) => m.lease_id === job.lease_id);
    const view = await task(body.task_id, "alice");
    expect(view.status).toBe("FAILURE");
    expect(view.error.message).toBe("FileNotFoundError: No such file: '…/v1-5.safetensors' (see …/log.txt)");
    const details = JSON.stringify(view.error.details);
    expect(details).not.toMatch(/home\/rigops|Users\\\\rig|\/mnt\/models/);
    expect(new TextEncoder().encode(details).byteLength).toBeLessThanOrEqual(MAX_ERROR_DETAILS_BYTES + 1024);
    expect(view.error.details).toMatchObject({ truncated: true, original_bytes: expect.any(Number) });
  });

  it("redacts absolute POSIX, home, Windows and UNC paths, keeping file names, URLs and relative paths", () => {
    expect(redactPaths(`File "/opt/ComfyUI/execution.py", line 3`)).toBe(`File "…/execution.py", line 3`);
    expect(redactPaths("~/ComfyUI/output/a.png and \\\\rig-3\\share\\m.gguf and D:/models/x.ckpt")).toBe("…/a.png and …/m.gguf and …/x.ckpt");
    expect(redactPaths("see https://example.com/a/b and models/checkpoints/z.ckpt, ratio 1/2")).toBe("see https://example.com/a/b and models/checkpoints/z.ckpt, ratio 1/2");
  });
});

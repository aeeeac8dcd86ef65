import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { call, submit } from "../test/http.ts";
import { HEADER_BYTES } from "./image-header.ts";
import { pngHeader } from "../test/png.ts";

type Json = Record<string, any>;
const agents: TestAgent[] = [];
afterEach(() => {
  while (agents.length) agents.pop()!.close();
});


async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("an agent's output as the edge stores it", () => {
  it("records the same size, SHA-256 and dimensions for an output within the header read and for a larger one, serves the bytes back, and refuses a settled lease first", async () => {
    const agent = await TestAgent.connect();
    agents.push(agent);
    agent.hello({ capacity: 4 });
    await agent.next("welcome");
    const { body } = await submit({ prompt: "small and large outputs" }, "alice", { priority: 100 });
    const job = await agent.jobFor(body.task_id);
    // One output that fits in the header read (stored from memory), one past it (streamed).
    const files = [pngHeader(64, 32, 1000), pngHeader(2048, 1024, HEADER_BYTES + 4096)];
    const outputs = [];
    for (const [index, bytes] of files.entries()) {
      const res = await SELF.fetch(`${job.upload.base_url}/${index}?exp=${job.upload.exp}&sig=${job.upload.sig}`, {
        method: "PUT",
        headers: { "content-type": "image/png", "content-length": String(bytes.byteLength) },
        body: bytes,
      });
      expect(res.status).toBe(201);
      const { key } = (await res.json()) as Json;
      outputs.push({ key, content_type: "image/png", bytes: bytes.byteLength, filename: `out_${index}.png`, node_id: "9" });
    }
    agent.send({ type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs });
    await agent.next("ack", 5000, (m) => m.lease_id === job.lease_id);

    const view = (await (await call("GET", `/tasks/${body.task_id}`, "alice")).json()) as Json;
    expect(view.status).toBe("SUCCESS");
    expect(view.result.outputs).toEqual([
      expect.objectContaining({ bytes: files[0]!.byteLength, content_type: "image/png", width: 64, height: 32, sha256: await sha256Hex(files[0]!) }),
      expect.objectContaining({ bytes: files[1]!.byteLength, content_type: "image/png", width: 2048, height: 1024, sha256: await sha256Hex(files[1]!) }),
    ]);
    // A settled lease is refused first (409), whatever else is wrong with the body, and nothing is written.
    const late = await SELF.fetch(`${job.upload.base_url}/2?exp=${job.upload.exp}&sig=${job.upload.sig}`, {
      method: "PUT",
      headers: { "content-type": "text/plain", "content-length": "3" },
      body: "abc",
    });
    expect(late.status).toBe(409);
    expect(await env.FILES.head(`out/${job.job_id}/${job.lease_id}/2`)).toBeNull();
    for (const [index, output] of view.result.outputs.entries()) {
      const link = new URL(output.url);
      const file = await call("GET", link.pathname + link.search, "none");
      expect(file.status).toBe(200);
      expect(new Uint8Array(await file.arrayBuffer())).toEqual(files[index]);
    }
  });
});

import { SELF } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TestAgent } from "../test/agent-socket.ts";
import { RAW_KEY, TEST_KEYS } from "../test/bindings.ts";
import { call } from "../test/http.ts";
import { drainDefaultPool } from "../test/queue-driver.ts";
import { pngHeader } from "../test/png.ts";

type Json = Record<string, any>;

const agents: TestAgent[] = [];
/** Every task this file made: cancelled after each test, so no later file finds them queued or (once a closed agent's lease expires) queued again. */
const made: string[] = [];
afterEach(async () => {
  while (agents.length) agents.pop()!.close();
  while (made.length) await (await call("DELETE", `/tasks/${made.pop()!}`, "admin")).body?.cancel();
});

/** A request as a given key (the raw-capable key by default). */
async function as(key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await SELF.fetch(`http://edge.test${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Json;
  if (method === "POST" && res.status === 202 && typeof json.task_id === "string") made.push(json.task_id);
  if (method === "POST") for (const t of Array.isArray(json.tasks) ? (json.tasks as Json[]) : []) if (typeof t.task_id === "string") made.push(t.task_id);
  return { status: res.status, json, headers: res.headers };
}

/** A small SD1.5 text-to-image graph as ComfyUI's "Export (API)" writes it; `tag` makes each copy distinct. */
function sd15(tag = "a red fox"): Json {
  return {
    "4": { class_type: "CheckpointLoaderSimple", inputs: { ckpt_name: "v1-5-pruned-emaonly.safetensors" }, _meta: { title: "Load Checkpoint" } },
    "5": { class_type: "EmptyLatentImage", inputs: { width: 64, height: 64, batch_size: 1 } },
    "6": { class_type: "CLIPTextEncode", inputs: { text: tag, clip: ["4", 1] } },
    "7": { class_type: "CLIPTextEncode", inputs: { text: "", clip: ["4", 1] } },
    "3": {
      class_type: "KSampler",
      inputs: { seed: 42, steps: 4, cfg: 7, sampler_name: "euler", scheduler: "normal", denoise: 1, model: ["4", 0], positive: ["6", 0], negative: ["7", 0], latent_image: ["5", 0] },
    },
    "8": { class_type: "VAEDecode", inputs: { samples: ["3", 0], vae: ["4", 2] } },
    "9": { class_type: "SaveImage", inputs: { filename_prefix: "raw", images: ["8", 0] } },
  };
}

async function sha256Hex(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** An agent on the default pool, emptied first: jobs other files left queued would fill its slots. */
async function agent(): Promise<TestAgent> {
  await drainDefaultPool();
  const a = await TestAgent.connect();
  agents.push(a);
  a.hello({ capacity: 4 });
  await a.next("welcome");
  return a;
}

describe("raw graphs: who may send them", () => {
  it("refuses a plain client key with 403 raw_not_allowed, naming the fix", async () => {
    const r = await as(TEST_KEYS.alice, "POST", "/v1/jobs", { graph: sd15() });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("raw_not_allowed");
    expect(r.json.error.message).toContain('"raw": true');
    expect(r.json.error.details).toEqual([{ path: "graph", rule: "raw_not_allowed", message: expect.any(String) }]);
  });

  it("accepts a key with raw: true, and an admin key", async () => {
    for (const key of [RAW_KEY, TEST_KEYS.admin]) {
      const r = await as(key, "POST", "/v1/jobs", { graph: sd15(`accepted ${key.slice(-4)}`), priority: -100 });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ status: "PENDING", seed: null });
      expect(r.json.task_id).toMatch(/^tsk_[0-9a-z]{20}\.default$/);
      expect((await as(key, "DELETE", `/tasks/${r.json.task_id}`)).status).toBe(200);
    }
  });
});

describe("raw graphs: what the submit checks", () => {
  const bad: [string, Json, number, string, Json][] = [
    ["both graph and workflow_id", { graph: sd15(), workflow_id: "sd15_basic" }, 400, "invalid_body", { path: "graph", rule: "one_of" }],
    ["neither graph nor workflow_id", { priority: 1 }, 400, "invalid_body", { path: "workflow_id", rule: "one_of" }],
    ["a graph that is an array", { graph: [1] }, 400, "invalid_body", { path: "graph" }],
    ["params beside a graph", { graph: sd15(), params: { prompt: "x" } }, 400, "invalid_body", { path: "params", rule: "raw_graph" }],
    ["count beside a graph", { graph: sd15(), count: 2 }, 400, "invalid_body", { path: "count", rule: "raw_graph" }],
    ["an unknown pool", { graph: sd15(), pool: "nosuchpool" }, 404, "not_found", { path: "pool", rule: "exists" }],
    ["a webhook on a private host, as for workflows", { graph: sd15(), webhook_url: "http://127.0.0.1:8000/hook" }, 400, "invalid_body", { path: "webhook_url", rule: "webhook_target" }],
    ["a pool beside a workflow that runs elsewhere", { workflow_id: "sd15_basic", params: { prompt: "x" }, pool: "other" }, 400, "invalid_body", { path: "pool", rule: "workflow_pool" }],
  ];
  for (const [name, body, status, code, detail] of bad) {
    it(`refuses ${name}`, async () => {
      const r = await as(RAW_KEY, "POST", "/v1/jobs", body);
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.json.error.details).toContainEqual(expect.objectContaining(detail));
    });
  }

  it("names the node and the problem of a broken link in the message", async () => {
    const graph = sd15();
    graph["8"].inputs.vae = ["99", 2];
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('graph.8.inputs.vae: links to node "99", which the graph lacks');
  });

  it("refuses a graph over MAX_GRAPH_NODES (500)", async () => {
    const graph: Json = {};
    for (let i = 0; i < 501; i++) graph[String(i)] = { class_type: "PrimitiveInt", inputs: { value: i } };
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph });
    expect(r.status).toBe(400);
    expect(r.json.error.details).toEqual([{ path: "graph", rule: "max_nodes", message: "has 501 nodes; the limit is 500 (MAX_GRAPH_NODES)" }]);
  });

  it("refuses a __proto__ node id and a model file outside its folder", async () => {
    const proto = JSON.parse(`{"graph": {"__proto__": {"class_type": "X", "inputs": {}}}}`);
    const r1 = await as(RAW_KEY, "POST", "/v1/jobs", proto);
    expect(r1.json.error.details).toContainEqual(expect.objectContaining({ path: "graph.__proto__", rule: "forbidden" }));
    const graph = sd15();
    graph["4"].inputs.ckpt_name = "../../secrets.safetensors";
    const r2 = await as(RAW_KEY, "POST", "/v1/jobs", { graph });
    expect(r2.json.error.details).toEqual([expect.objectContaining({ path: "graph.4.inputs.ckpt_name", rule: "path" })]);
  });

  it("refuses an input value nested thousands deep with 400 max_depth, not a crash", async () => {
    const graph = sd15();
    graph["5"].inputs.deep = JSON.parse(`${"[".repeat(5000)}1${"]".repeat(5000)}`.replace(/^\[/, '{"a":[').replace(/\]$/, "]}"));
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph }, { "idempotency-key": "deep-1" });
    expect(r.status).toBe(400);
    expect(r.json.error.details).toEqual([expect.objectContaining({ path: "graph.5.inputs.deep.a.0.0.0.0.0.0", rule: "max_depth" })]);
  });

  it("refuses a body over MAX_BODY_BYTES with 413", async () => {
    const graph = sd15("x".repeat(300_000));
    expect((await as(RAW_KEY, "POST", "/v1/jobs", { graph })).status).toBe(413);
  });
});

describe("raw graphs: the task and the job list", () => {
  it("shows workflow_id null and the graph's sha256; a manifest job shows its own sha256", async () => {
    const graph = sd15("task view");
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph, priority: -100 });
    const view = await as(RAW_KEY, "GET", `/tasks/${r.json.task_id}`);
    expect(view.json).toMatchObject({ task_id: r.json.task_id, workflow_id: null, pool: "default", seed: null, state: "queued", graph_sha256: await sha256Hex(JSON.stringify(graph)) });

    const listed = await as(RAW_KEY, "GET", "/v1/jobs?limit=5");
    expect(listed.json.jobs.find((j: Json) => j.task_id === r.json.task_id)).toMatchObject({ workflow_id: null, graph_sha256: view.json.graph_sha256 });
    const filtered = await as(RAW_KEY, "GET", "/v1/jobs?workflow_id=sd15_basic");
    expect(filtered.json.jobs.some((j: Json) => j.task_id === r.json.task_id)).toBe(false);
    await as(RAW_KEY, "DELETE", `/tasks/${r.json.task_id}`);

    const m = await as(RAW_KEY, "POST", "/v1/jobs", { workflow_id: "sd15_basic", params: { prompt: "manifest" }, priority: -100 });
    const mv = await as(RAW_KEY, "GET", `/tasks/${m.json.task_id}`);
    expect(mv.json.workflow_id).toBe("sd15_basic");
    expect(mv.json.graph_sha256).toMatch(/^[0-9a-f]{64}$/);
    await as(RAW_KEY, "DELETE", `/tasks/${m.json.task_id}`);
  });

  it("replays an Idempotency-Key with the same graph and refuses it with another", async () => {
    const key = { "idempotency-key": `raw-${crypto.randomUUID()}` };
    const first = await as(RAW_KEY, "POST", "/v1/jobs", { graph: sd15("idem"), priority: -100 }, key);
    const again = await as(RAW_KEY, "POST", "/v1/jobs", { graph: sd15("idem"), priority: -100 }, key);
    expect(again.json.task_id).toBe(first.json.task_id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await as(RAW_KEY, "POST", "/v1/jobs", { graph: sd15("other"), priority: -100 }, key)).status).toBe(409);
    await as(RAW_KEY, "DELETE", `/tasks/${first.json.task_id}`);
  });
});

describe("raw graphs through the real agent protocol", () => {
  it("leases the graph as sent to an agent, and ends SUCCESS with signed links that serve the file", async () => {
    const a = await agent();
    const graph = sd15("leased");
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph, priority: 100, output_format: "webp", quality: 80 });
    const job = await a.jobFor(r.json.task_id);
    expect(job.graph).toEqual(graph);
    expect(job.timeout_s).toBe(600);
    expect(job.output_format).toEqual({ type: "webp", quality: 80 });
    expect(job.models).toEqual([expect.stringContaining("v1-5-pruned-emaonly.safetensors")]);
    await a.complete(job);
    await a.next("ack", 5000, (m) => m.lease_id === job.lease_id);

    const done = await as(RAW_KEY, "GET", `/tasks/${r.json.task_id}`);
    expect(done.json).toMatchObject({ status: "SUCCESS", workflow_id: null, attempts: 1 });
    const out = done.json.result.outputs[0];
    expect(out.url).toMatch(/^http:\/\/edge\.test\/files\/.+\?exp=\d+&sig=/);
    const file = await SELF.fetch(out.url);
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBe(out.bytes);
  });

  it("cancels a running raw job: the client sees CANCELLED and the agent is told to stop", async () => {
    const a = await agent();
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph: sd15("cancel me"), priority: 100 });
    const job = await a.jobFor(r.json.task_id);
    a.send({ type: "progress", job_id: job.job_id, lease_id: job.lease_id, phase: "running", value: 1, max: 4, node: "3" });
    const cancelled = await as(RAW_KEY, "DELETE", `/tasks/${r.json.task_id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: "CANCELLED", workflow_id: null });
    expect((await a.next("cancel", 5000, (m) => m.job_id === job.job_id)).lease_id).toBe(job.lease_id);
  });
});

describe("raw graphs in /openapi.json", () => {
  it("documents the graph and pool fields, the 403 raw_not_allowed and the node limit", async () => {
    const doc = (await (await SELF.fetch("http://edge.test/openapi.json")).json()) as Json;
    const submit = doc.paths["/v1/jobs"].post;
    const body = submit.requestBody.content["application/json"].schema;
    expect(body.properties.graph.description).toContain("MAX_GRAPH_NODES");
    expect(body.properties.graph.additionalProperties.required).toEqual(["class_type", "inputs"]);
    expect(body.properties.pool).toBeDefined();
    expect(body.required ?? []).not.toContain("workflow_id");
    expect(submit.responses["403"].description).toContain("raw_not_allowed");
    expect(doc.paths["/generate"].post.responses["403"]).toBeDefined();
  });
});


/** sd15() turned img2img: node 10 loads an image the submit's `images` supplies. */
function img2img(tag: string): Json {
  const g = sd15(tag);
  g["10"] = { class_type: "LoadImage", inputs: { image: "placeholder.png" } };
  g["11"] = { class_type: "VAEEncode", inputs: { pixels: ["10", 0], vae: ["4", 2] } };
  g["3"].inputs.latent_image = ["11", 0];
  return g;
}

describe("raw graphs: input images for LoadImage nodes", () => {
  it("hands the agent an upload and an inline data: URI as inputs of their LoadImage nodes", async () => {
    const png = pngHeader(32, 32);
    const up = await SELF.fetch("http://edge.test/v1/uploads", {
      method: "POST",
      headers: { authorization: `Bearer ${RAW_KEY}`, "content-type": "image/png", "content-length": String(png.byteLength) },
      body: png,
    });
    expect(up.status).toBe(201);
    const { upload_id } = (await up.json()) as Json;
    const graph = img2img("with images");
    graph["12"] = { class_type: "LoadImageMask", inputs: { image: "mask.png", channel: "alpha" } };
    const dataUri = `data:image/png;base64,${btoa(String.fromCharCode(...png))}`;

    const a = await agent();
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph, images: { "10": upload_id, "12": dataUri }, priority: 100 });
    expect(r.status).toBe(202);
    const job = await a.jobFor(r.json.task_id);
    expect(job.inputs.map((i) => [i.node_id, i.input])).toEqual([["10", "image"], ["12", "image"]]);
    const fetched = await SELF.fetch(job.inputs[0]!.url);
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(png);
    expect(job.graph).toEqual(graph);
    await as(RAW_KEY, "DELETE", `/tasks/${r.json.task_id}`);
  });

  const bad: [string, Json, string, string][] = [
    ["a node the graph lacks", { "99": "upl_x" }, "images.99", "exists"],
    ["a node that loads no image", { "4": "upl_x" }, "images.4", "node_class"],
    ["a value of the wrong shape", { "10": 5 }, "images.10", "format"],
    ["an upload that does not exist", { "10": "upl_000000000000000000000000" }, "images.10", "exists"],
  ];
  for (const [name, images, path, rule] of bad) {
    it(`refuses images naming ${name}`, async () => {
      const r = await as(RAW_KEY, "POST", "/v1/jobs", { graph: img2img(name), images });
      expect(r.status).toBe(400);
      expect(r.json.error.details).toEqual([expect.objectContaining({ path, rule })]);
    });
  }

  it("refuses images beside a workflow_id", async () => {
    const r = await as(RAW_KEY, "POST", "/v1/jobs", { workflow_id: "sd15_basic", params: { prompt: "x" }, images: { "10": "upl_x" } });
    expect(r.json.error.details).toEqual([expect.objectContaining({ path: "images", rule: "raw_graph" })]);
  });
});

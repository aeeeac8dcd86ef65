import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, decodePng, FAST_AGENT, testKeys } from "./helpers.ts";

function png(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  img.data.fill(120);
  return PNG.sync.write(img);
}

// A site on this machine serving an image, redirects to it, and things that are not images.
async function startImageSite(): Promise<{ server: Server; base: string; hits: string[] }> {
  const hits: string[] = [];
  const image = png(96, 64);
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    hits.push(path);
    const hop = /^\/hop(\d)$/.exec(path);
    if (path === "/fox.png") res.writeHead(200, { "content-type": "image/png", "content-length": image.length }).end(image);
    else if (path === "/moved") res.writeHead(302, { location: "/fox.png" }).end();
    else if (hop) res.writeHead(302, { location: Number(hop[1]) >= 4 ? "/fox.png" : `/hop${Number(hop[1]) + 1}` }).end();
    else if (path === "/page") res.writeHead(200, { "content-type": "text/html" }).end("<html></html>");
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, hits, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("image inputs by URL and inline base64", () => {
  let stack: Stack;
  let api: Api;
  let site: Awaited<ReturnType<typeof startImageSite>>;
  beforeAll(async () => {
    site = await startImageSite();
    const host = new URL(site.base).host;
    stack = await startStack({
      keys: testKeys("i2u"), agents: 1, sim: { stepMs: 2 }, agent: FAST_AGENT,
      edge: { vars: { ALLOW_HTTP_WEBHOOKS: "true", WEBHOOK_ALLOW_HOSTS: host } },
    });
    api = new Api(stack.edge.url, stack.keys.client);
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((r) => site?.server.close(() => r()));
  });

  const submit = (input_image: unknown) =>
    fetch(`${stack.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
      body: JSON.stringify({ workflow_id: "sd15_img2img", params: { prompt: "repaint", input_image, denoising_strength: 0.5, steps: 2 } }),
    });

  const runs = async (input_image: unknown) => {
    const res = await submit(input_image);
    expect(res.status, await res.clone().text()).toBe(202);
    const done = await api.waitFor(((await res.json()) as { task_id: string }).task_id);
    expect(done.status).toBe("SUCCESS");
    const out = await fetch(done.result!.outputs[0]!.url);
    return decodePng(new Uint8Array(await out.arrayBuffer()));
  };

  it("fetches {url} once into storage, following a redirect, and the job runs on that image", async () => {
    expect(await runs({ url: `${site.base}/fox.png` })).toEqual({ width: 96, height: 64 });
    expect(await runs({ url: `${site.base}/moved` })).toEqual({ width: 96, height: 64 });
  });

  it("takes {base64, content_type} inline", async () => {
    expect(await runs({ base64: png(40, 24).toString("base64"), content_type: "image/png" })).toEqual({ width: 40, height: 24 });
  });

  it("refuses with 422 naming the parameter and the reason, before anything is queued", async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ url: `${site.base}/hop1` }, "fetch", /more than 3 redirects/],
      [{ url: `${site.base}/page` }, "fetch", /text\/html/],
      [{ url: `${site.base}/missing.png` }, "fetch", /HTTP 404/],
      [{ url: "http://127.0.0.1:9/x.png" }, "fetch", /private|loopback|local|not allowed/i],
      [{ url: "file:///etc/passwd" }, "fetch", /http/i],
      [{ base64: Buffer.from("not a png at all").toString("base64"), content_type: "image/png" }, "decode", /not the image\/png|not a image\/png/],
      [{ base64: "***", content_type: "image/png" }, "decode", /base64/],
    ];
    const listed = async () => {
      const res = await fetch(`${stack.edge.url}/v1/jobs?limit=100`, { headers: { authorization: `Bearer ${stack.keys.client}` } });
      return ((await res.json()) as { jobs: unknown[] }).jobs.length;
    };
    const before = await listed();
    for (const [input, rule, why] of cases) {
      const res = await submit(input);
      const body = (await res.json()) as { error: { code: string; details: { path: string; rule: string; message: string }[] } };
      expect(res.status, JSON.stringify(input)).toBe(422);
      expect(body.error.code).toBe("input_unavailable");
      expect(body.error.details[0]).toMatchObject({ path: "params.input_image", rule });
      expect(body.error.details[0]!.message, JSON.stringify(input)).toMatch(why);
    }
    const shape = await submit({ url: 1 });
    expect(shape.status).toBe(400);
    expect(await listed()).toBe(before);
  });
});

import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { Api, FAST_AGENT, testKeys, until } from "./helpers.ts";

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on 127.0.0.1: answers each delivery with the next status from `script`. */
async function receiver(script: number[]) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      deliveries.push({ headers: req.headers as Record<string, string>, body });
      res.statusCode = script[deliveries.length - 1] ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { deliveries, url: `http://127.0.0.1:${port}/hook`, host: `127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Standard Webhooks verification, done the way a receiver would. */
function verify(secret: string, d: Delivery): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${d.headers["webhook-id"]}.${d.headers["webhook-timestamp"]}.${d.body}`).digest("base64");
  return d.headers["webhook-signature"]!.split(" ").some((s) => s === `v1,${expected}`);
}

describe("webhooks", () => {
  let stack: Stack;
  let api: Api;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver([500, 200]);
    flaky = await receiver([500, 500, 500, 500, 500, 500, 500]);
    stack = await startStack({
      keys: testKeys("hooks"),
      agents: 1,
      sim: { stepMs: 2 },
      agent: FAST_AGENT,
      edge: { vars: { WEBHOOK_ALLOW_HOSTS: `${hook.host},${flaky.host}`, WEBHOOK_BACKOFF_MS: "200,200,200,200,200" } },
    });
    api = new Api(stack.edge.url, stack.keys.client);
  });
  afterAll(async () => {
    await stack?.close();
    await hook?.close();
    await flaky?.close();
  });

  it("POSTs a signed body on success, retries after a 500, and shows each attempt on the task", async () => {
    const { task_id } = await api.submit({ prompt: "notify me", steps: 2 }, "sd15_basic", { webhook_url: hook.url });
    expect((await api.waitFor(task_id)).status).toBe("SUCCESS");
    await until(() => hook.deliveries.length >= 2, 15_000, "the webhook retry");
    const secret = ((await (await fetch(`${stack.edge.url}/v1/webhook-secret`, { headers: { authorization: `Bearer ${stack.keys.client}` } })).json()) as { secret: string }).secret;
    for (const d of hook.deliveries) {
      expect(verify(secret, d)).toBe(true);
      expect(Number(d.headers["webhook-timestamp"])).toBeGreaterThan(1_700_000_000);
      const payload = JSON.parse(d.body);
      expect(payload).toMatchObject({ type: "task.success", data: { task_id, status: "SUCCESS" } });
      expect(payload.data.result.download_url).toContain("/files/");
    }
    // The same event keeps its id across retries, so receivers can de-duplicate.
    expect(hook.deliveries[0]!.headers["webhook-id"]).toBe(hook.deliveries[1]!.headers["webhook-id"]);
    const tampered = { ...hook.deliveries[0]!, body: hook.deliveries[0]!.body.replace("SUCCESS", "FAILURE") };
    expect(verify(secret, tampered)).toBe(false);
    await until(async () => (await api.get(task_id)).webhook?.delivered === true, 10_000, "delivered on the task");
    const view = await api.get(task_id);
    expect(view.webhook!.attempts.map((a) => a.status)).toEqual([500, 200]);
  });

  it("accepts the original's callback_url, fires on cancellation too, and gives up after the last attempt", async () => {
    const { task_id } = await api.submit({ prompt: "cancel me", steps: 2 }, "sd15_basic", { callback_url: flaky.url, priority: -100 });
    await api.cancel(task_id);
    await until(async () => ((await api.get(task_id)).webhook?.attempts.length ?? 0) >= 6, 20_000, "six attempts");
    await new Promise((r) => setTimeout(r, 600));
    const view = await api.get(task_id);
    expect(view.webhook).toMatchObject({ url: flaky.url, delivered: false });
    expect(view.webhook!.attempts).toHaveLength(6);
    expect(JSON.parse(flaky.deliveries[0]!.body).type).toBe("task.cancelled");
  });

  it("refuses private targets that are not on the allow-list", async () => {
    for (const target of ["http://127.0.0.2:9/hook", "http://169.254.169.254/latest", "http://localhost:1234/x", "http://[::1]:80/"]) {
      const res = await fetch(`${stack.edge.url}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack.keys.client}`, "content-type": "application/json" },
        body: JSON.stringify({ workflow_id: "sd15_basic", params: { prompt: "x" }, webhook_url: target }),
      });
      expect(res.status, target).toBe(400);
      const body = (await res.json()) as { error: { code: string; details: { path: string; rule: string }[] } };
      expect(body.error.details[0]).toMatchObject({ path: "webhook_url", rule: "webhook_target" });
    }
  });
});

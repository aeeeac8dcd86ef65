import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startStack, type Stack } from "../scripts/local/stack.ts";
import { chromiumInstalled, launchChromium } from "./playground-browser.ts";
import { fillJob, openPlayground, pngWidth, recordPreviews, recordProgress, seenPreviews, seenProgress } from "./playground-page.ts";
import { enforceCsp, recordCspViolations, sidewaysOverflow } from "./page-checks.ts";

const keys = {
  client: `ce_client_${randomBytes(12).toString("hex")}`,
  agent: `ce_agent_${randomBytes(12).toString("hex")}`,
  admin: `ce_admin_${randomBytes(12).toString("hex")}`,
};
// Not imported from scripts/local/edge.ts: loading Miniflare before stack.ts (and so before the
// agent) made the agent's output uploads fail with undici's "invalid content-length header".
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SCREENSHOT = join(ROOT, "test-results/playground.png");

describe.skipIf(!chromiumInstalled())("playground page at / (headless Chromium, local stack)", () => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    stack = await startStack({ keys, agents: 1, sim: { stepMs: 40 } });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await enforceCsp(context);
    await recordCspViolations(context, cspViolations);
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  }, 60_000);

  test("a job runs from the form to the image, with live progress, a download and a recent-jobs entry", async () => {
    await openPlayground(page, stack!.edge.url, keys.client, "sd15_basic");
    await fillJob(page, { prompt: "a lighthouse at dusk", steps: "10", width: "256", height: "192" });
    await recordProgress(page);
    await page.click("#submit");

    await page.waitForSelector("#task-status[data-status=SUCCESS]", { timeout: 60_000 });
    const seen = await seenProgress(page);
    expect(seen.some((s) => s.status !== "SUCCESS" && s.value > 0 && s.value < 100), JSON.stringify(seen)).toBe(true);
    expect(await page.inputValue("#api-key")).toBe(keys.client);

    const taskId = (await page.textContent("#task-id"))!.trim();
    expect(taskId).toMatch(/\S{8,}/);
    expect((await page.textContent("#seed"))!.trim()).toMatch(/^\d+$/);

    const img = page.locator("img.result-image").first();
    await img.evaluate((el: HTMLImageElement) => el.decode());
    expect(await img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(256);

    const link = page.locator("a.download").first();
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    expect(download.suggestedFilename()).toBe(await link.getAttribute("download"));
    expect(pngWidth(readFileSync(await download.path()))).toBe(256);

    const entry = page.locator(`#recent li[data-task-id="${taskId}"]`);
    await expect.poll(() => entry.getAttribute("data-status"), { timeout: 10_000 }).toBe("SUCCESS");
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 120_000);

  test("a value out of range is reported beside its field, and the recent jobs survive a reload", async () => {
    await page.reload();
    // The key and the workflow come back from localStorage.
    await page.waitForSelector("#param-prompt");
    expect(await page.inputValue("#workflow")).toBe("sd15_basic");
    await expect.poll(() => page.locator("#recent li").count()).toBe(1);
    // The newest job is shown again, with fresh links.
    await page.waitForSelector("#task-status[data-status=SUCCESS]");
    await page.locator("img.result-image").first().evaluate((el: HTMLImageElement) => el.decode());

    await fillJob(page, { prompt: "too wide", width: "5000" });
    await page.click("#submit");
    const widthError = page.locator('[data-param="width"] .field-error');
    await expect.poll(() => widthError.textContent(), { timeout: 10_000 }).toMatch(/1024/);
    expect(await page.getAttribute("#param-width", "aria-invalid")).toBe("true");
    expect(await page.textContent('[data-param="height"] .field-error')).toBe("");
    expect(await page.textContent("#form-error")).toMatch(/parameter problem/);
    expect(await page.locator("#recent li").count()).toBe(1);

    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 60_000);

  test("an image parameter gets a file picker that uploads first (img2img)", async () => {
    const input = new PNG({ width: 96, height: 64 });
    input.data.fill(180);
    await page.getByLabel("Workflow", { exact: true }).selectOption("sd15_img2img");
    await page.waitForSelector("#param-input_image[type=file]");
    await page.setInputFiles("#param-input_image", { name: "input.png", mimeType: "image/png", buffer: PNG.sync.write(input) });
    await fillJob(page, { prompt: "repaint it", steps: "3" });
    const uploaded = page.waitForResponse((r) => r.url().endsWith("/v1/uploads") && r.request().method() === "POST");
    await page.click("#submit");
    expect((await uploaded).status()).toBe(201);
    await page.waitForSelector("#task-status[data-status=SUCCESS]", { timeout: 60_000 });
    const img = page.locator("img.result-image").first();
    await img.evaluate((el: HTMLImageElement) => el.decode());
    // The stand-in renders img2img at the input image's size.
    expect(await img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(96);
    expect(await page.locator("#recent li").count()).toBe(2);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 90_000);

  test("at 390 px wide the page does not scroll sideways, with a recent job listed", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.reload();
      await page.waitForSelector("#recent li");
      await page.waitForSelector("#task-status[data-status=SUCCESS]");
      await page.waitForSelector("#param-prompt");
      expect(await page.locator("#recent li").count()).toBeGreaterThan(0);
      const { overflow, widest } = await sidewaysOverflow(page);
      expect(overflow, `scrolls ${overflow}px sideways; widest element: ${widest}`).toBe(0);
      await page.screenshot({ path: join(ROOT, "test-results/playground-390.png"), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  }, 60_000);

  test("/docs shows every operation from the bundled Swagger UI, with nothing fetched beyond the edge", async () => {
    const docs = await context.newPage();
    try {
      const requested: string[] = [];
      docs.on("request", (r) => requested.push(r.url()));
      const errors: string[] = [];
      docs.on("pageerror", (e) => errors.push(String(e)));
      await docs.goto(`${stack!.edge.url}/docs`);
      const submit = docs.locator('.opblock-post .opblock-summary-path[data-path="/v1/jobs"]');
      // Swagger UI parses 1.7 MB of script and renders every operation: slow on a loaded machine.
      await submit.waitFor({ timeout: 60_000 });
      const doc = (await (await fetch(`${stack!.edge.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      expect(await docs.locator(".opblock").count()).toBe(operations);
      expect(await docs.locator('.opblock-get .opblock-summary-path[data-path="/tasks/{id}"]').count()).toBe(1);
      const origin = new URL(stack!.edge.url).origin;
      expect(requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin)).toEqual([]);
      expect(requested).toContain(`${origin}/openapi.json`);
      expect(errors).toEqual([]);
      expect(cspViolations).toEqual([]);
    } finally {
      await docs.close();
    }
  }, 90_000);

  test("when the events socket fails, the page polls the task and still shows the result", async () => {
    const other = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await enforceCsp(other);
    await recordCspViolations(other, cspViolations);
    try {
      const p = await other.newPage();
      p.setDefaultTimeout(30_000);
      const errors: string[] = [];
      p.on("pageerror", (e) => errors.push(String(e)));
      await p.routeWebSocket(/\/events/, (ws) => ws.close());
      await openPlayground(p, stack!.edge.url, keys.client, "sd15_basic");
      await fillJob(p, { prompt: "polled", steps: "3", width: "128", height: "128" });
      await p.click("#submit");
      await p.waitForSelector("#task-status[data-status=SUCCESS]", { timeout: 60_000 });
      expect(await p.textContent("#feed-note")).toMatch(/every second/);
      const img = p.locator("img.result-image").first();
      await img.evaluate((el: HTMLImageElement) => el.decode());
      expect(await img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(128);
      expect(errors).toEqual([]);
      expect(cspViolations).toEqual([]);
    } finally {
      await other.close();
    }
  }, 90_000);

  test("the result card shows the job's live preview while it runs, and the result replaces it", async () => {
    await openPlayground(page, stack!.edge.url, keys.client, "sd15_basic");
    await fillJob(page, { prompt: "a harbour, previewed", steps: "40", width: "256", height: "192" });
    await recordPreviews(page);
    const before = (await page.textContent("#task-id"))?.trim();
    await page.click("#submit");
    await expect.poll(async () => (await page.textContent("#task-id"))?.trim(), { timeout: 30_000 }).not.toBe(before);
    await page.waitForSelector("#task-status[data-status=SUCCESS]", { timeout: 60_000 });
    const previews = await seenPreviews(page);
    // Previews come only over the live feed: the page followed the job on its WebSocket, not by polling.
    expect(await page.textContent("#feed-note")).toBe("");
    expect(previews.length, JSON.stringify(previews)).toBeGreaterThan(0);
    expect(previews.every((p) => p.src.startsWith("data:image/png;base64,") && p.status !== "SUCCESS")).toBe(true);
    expect(await page.locator("#live-preview").isHidden()).toBe(true);
    expect(cspViolations).toEqual([]);
  }, 120_000);

  test("the recent list reads the key's jobs from the edge: one submitted elsewhere (the API) shows after a reload", async () => {
    const res = await fetch(`${stack!.edge.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.client}`, "content-type": "application/json" },
      body: JSON.stringify({ workflow_id: "sd15_basic", params: { prompt: "from the API", steps: 2, width: 64, height: 64 } }),
    });
    const { task_id } = (await res.json()) as { task_id: string };
    await page.reload();
    const entry = page.locator(`#recent li[data-task-id="${task_id}"]`);
    await expect.poll(() => entry.count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => entry.getAttribute("data-status"), { timeout: 30_000 }).not.toBe("");
    expect(pageErrors).toEqual([]);
  }, 90_000);
});

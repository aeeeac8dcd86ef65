import type { Page } from "playwright-core";

/** Opens the playground, enters the key, and picks a workflow; resolves once its form is built. */
export async function openPlayground(page: Page, edgeUrl: string, key: string, workflowId: string): Promise<void> {
  await page.goto(`${edgeUrl}/`);
  await page.getByLabel("Client API key").fill(key);
  await page.getByRole("button", { name: "Use key" }).click();
  await page.waitForSelector(`#workflow option[value="${workflowId}"]`, { state: "attached" });
  await page.getByLabel("Workflow", { exact: true }).selectOption(workflowId);
  await page.waitForSelector(`#fields [data-param] >> nth=0`);
}

/** Fills form fields by their parameter name (through their labels' `for` ids). */
export async function fillJob(page: Page, values: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(values)) await page.fill(`#param-${name}`, value);
}

export interface ProgressSample {
  value: number;
  status: string;
}

/** Starts recording every value the progress bar takes, with the task status shown at that moment. */
export async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const bar = document.getElementById("progress") as HTMLProgressElement;
    const status = document.getElementById("task-status")!;
    const samples: { value: number; status: string }[] = [];
    (window as unknown as { __progress: typeof samples }).__progress = samples;
    new MutationObserver(() => samples.push({ value: bar.value, status: status.dataset.status ?? "" })).observe(bar, {
      attributes: true,
      attributeFilter: ["value"],
    });
  });
}

/** Records every live preview the result card shows (its image's source, while visible). */
export async function recordPreviews(page: Page): Promise<void> {
  await page.evaluate(() => {
    const img = document.getElementById("live-preview") as HTMLImageElement;
    const seen: { src: string; status: string }[] = [];
    (window as unknown as { __previews: typeof seen }).__previews = seen;
    new MutationObserver(() => {
      if (!img.hidden && img.src) seen.push({ src: img.src.slice(0, 40), status: document.getElementById("task-status")!.dataset.status ?? "" });
    }).observe(img, { attributes: true, attributeFilter: ["src", "hidden"] });
  });
}

export function seenPreviews(page: Page): Promise<{ src: string; status: string }[]> {
  return page.evaluate(() => (window as unknown as { __previews: { src: string; status: string }[] }).__previews);
}

export function seenProgress(page: Page): Promise<ProgressSample[]> {
  return page.evaluate(() => (window as unknown as { __progress: { value: number; status: string }[] }).__progress);
}

/** The width in a PNG's IHDR chunk (null if the bytes are not a PNG). */
export function pngWidth(buf: Buffer): number | null {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 24 || !buf.subarray(0, 8).equals(signature)) return null;
  return buf.readUInt32BE(16);
}

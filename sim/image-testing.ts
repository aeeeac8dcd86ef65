import sharp from "sharp";
import { expect } from "vitest";
import type { Sim } from "./server.ts";
import { getJson, submit, type TestClient } from "./testing.ts";
import type { Graph } from "./validate.ts";

/** Test helpers for the sim's image nodes: run a graph to its history, read back what it saved. */

/** One saved image as a node's ui lists it. */
export interface Saved {
  filename: string;
  subfolder: string;
  type: string;
}

/** Runs a graph to the end (it must succeed); returns its history outputs (node id → ui). */
export async function runGraph(sim: Sim, client: TestClient, graph: Graph, extra: Record<string, unknown> = {}): Promise<Record<string, Record<string, unknown>>> {
  const res = await submit(sim, graph, client.clientId, extra);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const id = res.body.prompt_id as string;
  await client.finished(id);
  const history = (await getJson(sim, `/history/${id}`))[id] as { outputs: Record<string, Record<string, unknown>>; status: { status_str: string } };
  expect(history.status.status_str).toBe("success");
  return history.outputs;
}

/** The bytes of a saved image, through `GET /view`. */
export async function viewSaved(sim: Sim, img: Saved): Promise<Buffer> {
  const res = await fetch(`${sim.url}/view?filename=${encodeURIComponent(img.filename)}&subfolder=${img.subfolder}&type=${img.type}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** An image's RGB pixels (alpha dropped), row-major. */
export async function rgbPixels(image: Buffer): Promise<{ width: number; height: number; data: Buffer }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

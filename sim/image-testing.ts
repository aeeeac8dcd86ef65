import sharp from "sharp";
import { afterAll, beforeAll, expect } from "vitest";
import { type Sim, startSim } from "./server.ts";
import { getJson, submit, TestClient } from "./testing.ts";
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

/** A test file's sim (0 ms steps) and client: started before its tests, closed after them. */
export interface ImageSim {
  readonly sim: Sim;
  readonly client: TestClient;
  /** See runGraph. */
  run(graph: Graph, extra?: Record<string, unknown>): Promise<Record<string, Record<string, unknown>>>;
  /** See viewSaved. */
  view(img: Saved): Promise<Buffer>;
}

export function useImageSim(): ImageSim {
  let sim: Sim | null = null;
  let client: TestClient | null = null;
  beforeAll(async () => {
    sim = await startSim({ port: 0, stepMs: 0 });
    client = await TestClient.connect(sim);
  });
  afterAll(async () => {
    client?.close();
    await sim?.close();
  });
  const started = <T>(x: T | null): T => {
    if (x === null) throw new Error("useImageSim: used outside a test (the sim starts in beforeAll)");
    return x;
  };
  return {
    get sim() {
      return started(sim);
    },
    get client() {
      return started(client);
    },
    run: (graph, extra = {}) => runGraph(started(sim), started(client), graph, extra),
    view: (img) => viewSaved(started(sim), img),
  };
}

export const emptyImage = (width: number, height: number, batch: number, color: number): Graph[string] => ({
  class_type: "EmptyImage", inputs: { width, height, batch_size: batch, color },
});

export const saveImage = (from: string, prefix: string): Graph[string] => ({ class_type: "SaveImage", inputs: { images: [from, 0], filename_prefix: prefix } });

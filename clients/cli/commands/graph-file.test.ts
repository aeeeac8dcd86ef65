import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toCLIError } from "../cli-error.ts";
import { readGraphFile } from "./graph-file.ts";
import { parseRunRequest } from "./run-request.ts";

const env = { COMFY_EDGE_URL: "http://127.0.0.1:8787", COMFY_EDGE_API_KEY: "k".repeat(20) };
const dir = mkdtempSync(join(tmpdir(), "comfy-graph-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const graph = { "9": { class_type: "SaveImage", inputs: { images: ["8", 0] } }, "8": { class_type: "EmptyImage", inputs: { width: 8, height: 8 } } };

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function failure(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    const err = toCLIError(e);
    return { code: err.code, message: err.message };
  }
  throw new Error("expected a failure");
}

describe("readGraphFile", () => {
  it("reads an Export (API) file as is, and unwraps ComfyUI's own POST /prompt body", () => {
    expect(readGraphFile(file("api.json", JSON.stringify(graph)))).toEqual(graph);
    expect(readGraphFile(file("prompt-body.json", JSON.stringify({ prompt: graph, client_id: "abc" })))).toEqual(graph);
  });

  it("refuses a missing file, non-JSON, a non-object and a UI workflow with usage errors that say which", () => {
    expect(failure(() => readGraphFile(join(dir, "nope.json")))).toEqual({ code: "usage", message: expect.stringContaining("no such file") });
    expect(failure(() => readGraphFile(file("bad.json", "{")))).toEqual({ code: "usage", message: expect.stringContaining("is not JSON") });
    expect(failure(() => readGraphFile(file("list.json", "[]")))).toEqual({ code: "usage", message: expect.stringContaining("JSON object of node ids") });
    expect(failure(() => readGraphFile(file("ui.json", JSON.stringify({ nodes: [], links: [] }))))).toEqual({ code: "usage", message: expect.stringContaining('"Export (API)"') });
  });
});

describe("comfy-gen run --graph", () => {
  it("builds a body with the graph and no workflow, keeping --format, --quality and --priority", () => {
    const path = file("run.json", JSON.stringify(graph));
    const req = parseRunRequest(["--graph", path, "--format", "webp", "--quality", "70", "--priority", "5"], env);
    expect(req.body).toEqual({ graph, params: {}, output_format: "webp", quality: 70, priority: 5 });
  });

  it("refuses workflow flags beside --graph", () => {
    const path = file("clash.json", JSON.stringify(graph));
    for (const flag of [["--workflow", "sd15_basic"], ["--prompt", "x"], ["--set", "steps=4"], ["--seed=4"], ["--image", "a.png"]]) {
      expect(failure(() => parseRunRequest(["--graph", path, ...flag], env))).toEqual({ code: "usage", message: expect.stringContaining("goes with a workflow") });
    }
  });
});

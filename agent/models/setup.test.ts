import path from "node:path";
import { describe, expect, test } from "vitest";
import { modelsDirOf } from "./setup.ts";

const launch = (args: string[]) => ({ dir: "/opt/ComfyUI", python: null, gpu: null, args });

describe("modelsDirOf", () => {
  test("--models-dir wins; else the launched ComfyUI's models/ (its --base-directory honoured), else --comfy-dir's", () => {
    expect(modelsDirOf({ modelsDir: "/srv/models", launch: launch([]), comfyDir: "/c" })).toBe(path.resolve("/srv/models"));
    expect(modelsDirOf({ modelsDir: null, launch: launch([]), comfyDir: null })).toBe(path.resolve("/opt/ComfyUI/models"));
    expect(modelsDirOf({ modelsDir: null, launch: launch(["--base-directory", "/data"]), comfyDir: null })).toBe(path.resolve("/data/models"));
    expect(modelsDirOf({ modelsDir: null, launch: launch(["--base-directory=rel"]), comfyDir: null })).toBe(path.resolve("/opt/ComfyUI/rel/models"));
    expect(modelsDirOf({ modelsDir: null, launch: null, comfyDir: "/c" })).toBe(path.resolve("/c/models"));
  });

  test("null when nothing says where ComfyUI's models are: the agent then does not fetch", () => {
    expect(modelsDirOf({ modelsDir: null, launch: null, comfyDir: null })).toBeNull();
  });
});

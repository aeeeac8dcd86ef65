import { describe, expect, it } from "vitest";
import { connectionFrom, parseInteger, parseSets } from "./args.ts";
import { toCLIError } from "./cli-error.ts";
import { parseRunRequest } from "./commands/run-request.ts";

const env = { COMFY_EDGE_URL: "http://127.0.0.1:8787", COMFY_EDGE_API_KEY: "k".repeat(20) };

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    // What the entry point does with anything thrown.
    return toCLIError(e).code;
  }
  return undefined;
}

describe("--set", () => {
  it("reads JSON when it parses (numbers, booleans, quoted strings) and text otherwise", () => {
    expect(parseSets(["steps=4", "cfg=7.5", "FBC_optimize=false", "seed=random", 'prompt="42"', "prompt2=a=b c", "neg="])).toEqual({
      steps: 4,
      cfg: 7.5,
      FBC_optimize: false,
      seed: "random",
      prompt: "42",
      prompt2: "a=b c",
      neg: "",
    });
  });

  it("refuses a pair without a name", () => {
    expect(codeOf(() => parseSets(["=4"]))).toBe("usage");
    expect(codeOf(() => parseSets(["steps"]))).toBe("usage");
  });
});

describe("run flags", () => {
  it("builds the job body: --set first, the named flags on top", () => {
    const req = parseRunRequest(
      ["--workflow", "sd15_basic", "--set", "prompt=old", "--set", "steps=4", "--prompt", "new", "--lora", "add_detail.safetensors", "--seed", "42", "--format", "webp", "--quality", "80", "--priority=-3", "--timeout", "2.5"],
      env,
    );
    expect(req.body).toEqual({
      workflow_id: "sd15_basic",
      params: { prompt: "new", steps: 4, lora: "add_detail.safetensors", seed: 42 },
      output_format: "webp",
      quality: 80,
      priority: -3,
    });
    expect(req.timeoutMs).toBe(2500);
    expect(req.image).toBeNull();
    expect(parseRunRequest(["--prompt", "x", "--image", "a.png"], env).image).toEqual({ path: "a.png", param: "input_image" });
    expect(parseRunRequest(["--prompt", "x", "--seed", "random"], env).body.params.seed).toBe("random");
  });

  it("refuses bad values with usage errors, and a missing key with an auth error", () => {
    expect(codeOf(() => parseRunRequest(["--quality", "0"], env))).toBe("usage");
    expect(codeOf(() => parseRunRequest(["--format", "gif"], env))).toBe("usage");
    expect(codeOf(() => parseRunRequest(["--timeout=-1"], env))).toBe("usage");
    expect(codeOf(() => parseRunRequest(["--priority", "-3"], env))).toBe("usage");
    expect(codeOf(() => parseRunRequest(["a fox"], env))).toBe("usage");
    expect(codeOf(() => parseInteger("seed", "1e3", 0, 10))).toBe("usage");
    expect(codeOf(() => connectionFrom({}, { COMFY_EDGE_URL: env.COMFY_EDGE_URL }))).toBe("auth");
    expect(codeOf(() => connectionFrom({ url: "ftp://x" }, env))).toBe("usage");
  });
});

import { describe, expect, test } from "vitest";
import { CLIError } from "./cli-error.ts";
import { parseCli } from "./config.ts";
import { splitShellWords } from "./shell-words.ts";

const edge = ["--edge", "https://edge.example.com", "--token", "t0k"];

function config(argv: string[], env: Record<string, string> = {}) {
  const command = parseCli(argv, env);
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return command.config;
}

function usageError(fn: () => unknown): CLIError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CLIError) return e;
    throw e;
  }
  throw new Error("expected a CLIError");
}

describe("flags for the launched ComfyUI", () => {
  test("--comfy-args is split as a shell would, and flags after -- follow it", () => {
    const c = config([...edge, "--launch", "/opt/ComfyUI", "--comfy-args", `--highvram --output-directory "/data/comfy out"`, "--", "--cpu", "--preview-method", "auto"]);
    expect(c.launch?.args).toEqual(["--highvram", "--output-directory", "/data/comfy out", "--cpu", "--preview-method", "auto"]);
  });

  test("COMFY_ARGS is the environment's --comfy-args (the systemd unit sets it); the flag wins", () => {
    expect(config([...edge, "--launch", "/c"], { COMFY_ARGS: "--lowvram --cuda-malloc" }).launch?.args).toEqual(["--lowvram", "--cuda-malloc"]);
    expect(config([...edge, "--launch", "/c", "--comfy-args", "--cpu"], { COMFY_ARGS: "--lowvram" }).launch?.args).toEqual(["--cpu"]);
    expect(config([...edge, "--launch", "/c"]).launch?.args).toEqual([]);
  });

  test("ComfyUI flags without --launch, or with an open quote, are usage errors that say why", () => {
    const without = usageError(() => config([...edge, "--comfyui", "http://127.0.0.1:8188", "--comfy-args", "--cpu"]));
    expect(without.code).toBe("usage");
    expect(without.message).toContain("only apply with --launch");
    expect(usageError(() => config([...edge, "--comfyui", "http://127.0.0.1:8188", "--", "--cpu"])).code).toBe("usage");
    const quote = usageError(() => config([...edge, "--launch", "/c", "--comfy-args", `--output-directory "/data`]));
    expect(quote.message).toContain("unterminated quote");
  });

  test("--comfy-dir / COMFY_DIR and --keep-files / KEEP_FILES reach the config", () => {
    const c = config([...edge, "--comfyui", "http://127.0.0.1:8188", "--comfy-dir", "/srv/ComfyUI", "--keep-files"]);
    expect(c).toMatchObject({ comfyDir: "/srv/ComfyUI", keepFiles: true });
    expect(config([...edge, "--comfyui", "http://x:1"], { COMFY_DIR: "/c", KEEP_FILES: "1" })).toMatchObject({ comfyDir: "/c", keepFiles: true });
    expect(config([...edge, "--comfyui", "http://x:1"])).toMatchObject({ comfyDir: null, keepFiles: false });
  });
});

describe("splitShellWords", () => {
  test("quotes, escapes and blanks", () => {
    expect(splitShellWords(`  a  'b c' "d \\"e\\"" f\\ g ''  `)).toEqual(["a", "b c", 'd "e"', "f g", ""]);
    expect(splitShellWords("")).toEqual([]);
    expect(splitShellWords(`"x`)).toBeNull();
    expect(splitShellWords(`x\\`)).toBeNull();
  });
});

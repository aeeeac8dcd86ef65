import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIni } from "./ini.ts";
import { toModelSpecs } from "./spec.ts";

const seed = readFileSync(new URL("./fixtures/seed-models.ini", import.meta.url), "utf8");
const specsOf = (text: string) => toModelSpecs(parseIni(text).entries);

describe("toModelSpecs", () => {
  it("names the original's files as it meant to, with case preserved and the revision recorded", () => {
    const { specs, problems } = specsOf(seed);
    expect(problems).toEqual([]);
    expect(specs.map((s) => s.relPath)).toEqual([
      "unet/flux1-dev-Q4_K_S.gguf",
      "vae/ae.safetensors",
      "text_encoders/t5-v1_1-xxl-encoder-f16.gguf",
      "clip/clip_l.safetensors",
      "loras/Flux-Ghibsky-Illustration.safetensors",
      "loras/Flux-Ghibli-Art.safetensors",
    ]);
    expect(specs[3]).toMatchObject({ repo: "black-forest-labs/FLUX.1-dev", revision: "main", sha256: null });
  });

  it("honours /resolve/<rev>/ (commit or encoded ref) and a #sha256 pin", () => {
    const sha = "AB".repeat(32);
    const { specs, problems } = specsOf(
      `[unet]\n_ = https://huggingface.co/o/r/resolve/0123456789abcdef0123456789abcdef01234567/sub/dir/m.gguf#sha256=${sha}\n` +
        "pr = https://hf.co/datasets/o/r/resolve/refs%2Fpr%2F3/m.safetensors?download=true\n",
    );
    expect(problems).toEqual([]);
    expect(specs[0]).toMatchObject({ relPath: "unet/m.gguf", repo: "o/r", revision: "0123456789abcdef0123456789abcdef01234567", sha256: sha.toLowerCase() });
    expect(specs[0]?.url).not.toContain("#");
    expect(specs[1]).toMatchObject({ relPath: "unet/pr.safetensors", repo: "datasets/o/r", revision: "refs/pr/3" });
  });

  it("reads an optional size after the pin, or alone, and refuses a size given twice or not a whole number", () => {
    const sha = "cd".repeat(32);
    const { specs, problems } = specsOf(
      `[unet]\na = https://example.com/a.gguf#sha256=${sha}&size=4294967296\nb = https://example.com/b.gguf#size=12\nc = https://example.com/c.gguf\n` +
        "d = https://example.com/d.gguf#size=12&size=13\ne = https://example.com/e.gguf#size=1.5\n",
    );
    expect(specs.map((s) => [s.fileName, s.sha256, s.bytes])).toEqual([
      ["a.gguf", sha, 4294967296],
      ["b.gguf", null, 12],
      ["c.gguf", null, null],
    ]);
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [5, "bad_pin"],
      [6, "bad_pin"],
    ]);
  });

  it("keeps a custom name that already carries the extension, and non-Hub https URLs", () => {
    const { specs } = specsOf("[loras]\nMy.LoRA.safetensors = https://example.com/dl/x.safetensors\nplain = https://example.com/dl/y\n");
    expect(specs.map((s) => s.relPath)).toEqual(["loras/My.LoRA.safetensors", "loras/plain"]);
    expect(specs[0]?.revision).toBeNull();
  });

  it("rejects unknown URL forms, bad pins, unsafe names and two lines writing one file, naming each line", () => {
    const text = [
      "[unet]",
      "_ = https://huggingface.co/o/r/blob/main/m.gguf",
      "_ = https://huggingface.co/o/r/tree/main",
      "_ = ftp://example.com/m.gguf",
      "_ = not a url",
      "_ = https://example.com/m.gguf#md5=abc",
      "../evil = https://example.com/m.gguf",
      "_ = https://example.com/",
      "a = https://example.com/one.gguf",
      "a = https://example.com/two.gguf",
    ].join("\n");
    const { problems } = specsOf(text);
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [2, "bad_url"],
      [3, "bad_url"],
      [4, "bad_url"],
      [5, "bad_url"],
      [6, "bad_pin"],
      [7, "bad_name"],
      [8, "bad_url"],
      [10, "duplicate_target"],
    ]);
    expect(problems[0]?.message).toContain("replace /blob/ with /resolve/");
    expect(problems[7]?.message).toContain("line 9");
  });
});

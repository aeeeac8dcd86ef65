import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseIni } from "./ini.ts";

const seed = readFileSync(new URL("./fixtures/seed-models.ini", import.meta.url), "utf8");

describe("parseIni", () => {
  it("reads the original service's models.ini: every live line, in order, case kept, comments skipped", () => {
    const { entries, problems } = parseIni(seed);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.section, e.key])).toEqual([
      ["unet", "_"],
      ["vae", "_"],
      ["text_encoders", "_"],
      ["clip", "clip_l"],
      ["loras", "Flux-Ghibsky-Illustration"],
      ["loras", "Flux-Ghibli-Art"],
    ]);
    const unet = entries[0];
    expect(unet?.value).toBe("https://huggingface.co/city96/FLUX.1-dev-gguf/resolve/main/flux1-dev-Q4_K_S.gguf");
    expect(unet?.line).toBe(seed.split("\n").findIndex((l) => l.startsWith("_ = https://huggingface.co/city96/FLUX.1-dev-gguf")) + 1);
  });

  it("keeps every repeated `_` key (configparser kept only the last)", () => {
    const { entries } = parseIni("[unet]\n_ = https://a/x.gguf\n_ = https://a/y.gguf\n\n[unet]\n_ = https://a/z.gguf\n");
    expect(entries.map((e) => e.value)).toEqual(["https://a/x.gguf", "https://a/y.gguf", "https://a/z.gguf"]);
    expect(entries.map((e) => e.line)).toEqual([2, 3, 6]);
  });

  it("names the line of a key outside any section, a garbage line, and a bad section, and still returns good lines", () => {
    const text = ["# header", "_ = https://a/x.gguf", "[loras]", "this is not a setting", "ok = https://a/y.safetensors", "[../etc]", "=https://a/z", "empty ="].join("\n");
    const { entries, problems } = parseIni(text);
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [2, "key_outside_section"],
      [4, "bad_line"],
      [6, "bad_section"],
    ]);
    expect(problems[0]?.message).toMatch(/^line 2: .*outside any \[section\]/);
    expect(entries.map((e) => e.line)).toEqual([5]);
  });

  it("reports an empty name or an empty URL with its line", () => {
    const { problems } = parseIni("[vae]\n= https://a/x\nname =\n");
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [2, "empty_key"],
      [3, "empty_value"],
    ]);
  });

  it("accepts CRLF line endings, a BOM, ; comments and nested section folders", () => {
    const { entries, problems } = parseIni("\uFEFF; comment\r\n[ultralytics/bbox]\r\n_ = https://a/face.pt\r\n");
    expect(problems).toEqual([]);
    expect(entries).toEqual([{ section: "ultralytics/bbox", key: "_", value: "https://a/face.pt", line: 3 }]);
  });
});

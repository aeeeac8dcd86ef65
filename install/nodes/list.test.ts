import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseNodeList, repoName } from "./list.ts";

describe("parseNodeList", () => {
  it("reads URLs with optional @tag/@commit pins and comments; SSH URLs keep their @", () => {
    const { nodes, problems } = parseNodeList(
      [
        "# nodes",
        "https://github.com/city96/ComfyUI-GGUF.git@v1.2  # pinned tag",
        "https://github.com/yolain/ComfyUI-Easy-Use@0123abc",
        "git@github.com:cubiq/ComfyUI_essentials.git",
        "",
        "file:///tmp/x/My.Node",
      ].join("\n"),
    );
    expect(problems).toEqual([]);
    expect(nodes.map((n) => [n.name, n.url, n.ref, n.line])).toEqual([
      ["ComfyUI-GGUF", "https://github.com/city96/ComfyUI-GGUF.git", "v1.2", 2],
      ["ComfyUI-Easy-Use", "https://github.com/yolain/ComfyUI-Easy-Use", "0123abc", 3],
      ["ComfyUI_essentials", "git@github.com:cubiq/ComfyUI_essentials.git", null, 4],
      ["My.Node", "file:///tmp/x/My.Node", null, 6],
    ]);
  });

  it("reads the shipped list: the original's six nodes, each named once", () => {
    const shipped = readFileSync(new URL("../configs/custom_nodes.txt", import.meta.url), "utf8");
    const { nodes, problems } = parseNodeList(shipped);
    expect(problems).toEqual([]);
    const names = nodes.map((n) => n.name);
    for (const seed of ["ComfyUI-ParamNodes", "Comfy-WaveSpeed", "ComfyUI-GGUF", "ComfyUI_essentials", "ComfyUI-Impact-Pack", "ComfyUI-Easy-Use"]) {
      expect(names).toContain(seed);
    }
  });

  it("names the line of a non-URL, a bad pin, two URLs on a line and a node listed twice", () => {
    const { problems } = parseNodeList(
      ["not-a-url", "https://h/o/a.git@-rf", "https://h/o/b https://h/o/c", "https://h/o/d", "https://other/o/d.git"].join("\n"),
    );
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3, 5]);
    expect(problems[3]?.message).toContain("line 4");
  });

  it("derives the folder from the repository name", () => {
    expect(repoName("https://github.com/o/ComfyUI-GGUF.git/")).toBe("ComfyUI-GGUF");
    expect(repoName("https://github.com/")).toBeNull();
  });
});

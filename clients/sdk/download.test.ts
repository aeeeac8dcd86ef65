import { describe, expect, it } from "vitest";
import { safeFilename } from "./download.ts";

describe("safeFilename", () => {
  it("keeps ordinary names and defuses paths and odd characters", () => {
    expect(safeFilename("ComfyUI_00001_.png", "x")).toBe("ComfyUI_00001_.png");
    expect(safeFilename("../../etc/passwd", "x")).toBe("passwd");
    expect(safeFilename("a\\b\\c d?.png", "x")).toBe("c_d_.png");
    expect(safeFilename("..", "fallback")).toBe("fallback");
    expect(safeFilename("", "fallback")).toBe("fallback");
  });
});

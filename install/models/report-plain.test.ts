import { describe, expect, it } from "vitest";
import { plainReporter } from "./report-plain.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";

const spec: ModelSpec = { section: "unet", fileName: "m.gguf", relPath: "unet/m.gguf", url: "https://h/m.gguf", repo: null, revision: null, sha256: null, bytes: null, line: 1 };

describe("plainReporter", () => {
  it("writes a start line, a line per quarter (or after a quiet spell) with speed and ETA, and the outcome", () => {
    let clock = 0;
    const lines: string[] = [];
    const report = plainReporter((line) => lines.push(line), () => clock);

    report.started?.(spec, { totalBytes: 4096, resumedFrom: 1024 });
    clock = 1_000;
    report.advanced?.(spec, 1000); // 49 %: same quarter as the resume point, and not quiet for long
    clock = 40_000;
    report.advanced?.(spec, 20); // quiet for 30 s: a line anyway
    clock = 41_000;
    report.advanced?.(spec, 1100); // 76 %: a new quarter
    report.advanced?.(spec, 952); // 100 %: the done line says it
    report.finished?.(spec, { status: "downloaded", relPath: spec.relPath, path: "/x", bytes: 4096, sha256: "ab".repeat(32), resumedFrom: 1024, attempts: 1, commit: null });

    expect(lines).toEqual([
      "start  unet/m.gguf (4.0 KB, resuming at 1.0 KB)",
      "       unet/m.gguf 49% 2.0 KB/4.0 KB 26 B/s ETA 1m20s | total 49% 2.0 KB/4.0 KB 26 B/s ETA 1m20s",
      "       unet/m.gguf 76% 3.1 KB/4.0 KB 52 B/s ETA 18s | total 76% 3.1 KB/4.0 KB 52 B/s ETA 18s",
      "done   unet/m.gguf (4.0 KB, sha256 abababababab, resumed at 1.0 KB)",
    ]);
  });
});

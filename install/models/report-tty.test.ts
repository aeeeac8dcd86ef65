import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ttyReporter } from "./report-tty.ts";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";

const spec = (name: string): ModelSpec => ({ section: "unet", fileName: name, relPath: `unet/${name}`, url: `https://h/${name}`, repo: null, revision: null, sha256: null, bytes: null, line: 1 });

describe("ttyReporter", () => {
  it("draws a bar per running file and a total with bytes, speed and ETA, and logs each outcome above them", () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 }) as unknown as NodeJS.WriteStream;
    let output = "";
    (stream as unknown as PassThrough).on("data", (chunk: Buffer) => (output += chunk.toString()));
    const report = ttyReporter(stream);
    const a = spec("a.gguf");
    const b = spec("b.gguf");

    report.started?.(a, { totalBytes: 2048, resumedFrom: 0 });
    report.started?.(b, { totalBytes: 1024, resumedFrom: 512 });
    report.advanced?.(a, 2048);
    report.finished?.(a, { status: "downloaded", relPath: a.relPath, path: "/a", bytes: 2048, sha256: "cd".repeat(32), resumedFrom: 0, attempts: 1, commit: null });
    report.finished?.(b, { status: "failed", relPath: b.relPath, path: "/b", attempts: 5, failure: { code: "network", message: "connection reset", retryable: true } });
    report.stop();

    expect(output).toMatch(/total \|[█░]+\| +\d+% [\d.]+ [KB]+\/[\d.]+ KB [\d.]+ [KMG]?B\/s ETA /);
    expect(output).toContain("unet/b.gguf |");
    expect(output).toContain("done   unet/a.gguf (2.0 KB, sha256 cdcdcdcdcdcd)");
    expect(output).toContain("FAILED unet/b.gguf: connection reset [network]");
  });
});

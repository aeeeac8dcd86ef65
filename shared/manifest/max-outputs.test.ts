import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { readManifestDir } from "../../scripts/bundle-manifests.ts";
import { isManifestError, loadCatalog, type ManifestFiles } from "./catalog.ts";

const files = (): ManifestFiles => readManifestDir(join(import.meta.dirname, "../../manifests"));

function withMaxOutputs(value: unknown): ManifestFiles {
  const f = files();
  const doc = parseDocument(f["workflows.yaml"] ?? "");
  doc.setIn(["sd15_basic", "max_outputs"], value);
  f["workflows.yaml"] = doc.toString();
  return f;
}

describe("a workflow's max_outputs", () => {
  it("defaults to 64 and takes a written value", () => {
    expect(loadCatalog(files()).workflows["sd15_basic"]?.max_outputs).toBe(64);
    expect(loadCatalog(withMaxOutputs(4)).workflows["sd15_basic"]?.max_outputs).toBe(4);
  });

  it.each([0, 257, 2.5, "many"])("refuses %j, naming the key", (value) => {
    let error: unknown;
    try {
      loadCatalog(withMaxOutputs(value));
    } catch (e) {
      error = e;
    }
    expect(isManifestError(error)).toBe(true);
    expect(String((error as Error).message)).toContain("max_outputs");
  });
});

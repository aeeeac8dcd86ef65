import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalog } from "../shared/manifest/catalog.ts";
import { readManifestDir } from "./bundle-manifests.ts";
import { ROOT } from "./local/edge.ts";

describe("loras.yaml examples", () => {
  it("are absolute https:// URLs: GET /loras lists them as-is and the edge hosts no images (no dead relative paths)", () => {
    const { loras } = loadCatalog(readManifestDir(join(ROOT, "manifests")));
    expect(Object.keys(loras).length).toBeGreaterThan(0);
    const dead = Object.values(loras).flatMap((lora) => lora.examples.filter((url) => !/^https:\/\/[^/]+\//.test(url)).map((url) => `${lora.name}: ${url}`));
    expect(dead).toEqual([]);
  });
});

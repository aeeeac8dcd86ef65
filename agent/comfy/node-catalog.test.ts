import { createHash } from "node:crypto";
import { afterEach, describe, expect, test } from "vitest";
import { startSim, type Sim } from "../../sim/server.ts";
import { NodeCatalogSchema } from "../../shared/protocol.ts";
import { ComfyClient } from "./client.ts";
import { ComfyError } from "./errors.ts";
import { catalogDigest, nodeCatalog } from "./node-catalog.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function client(opts: Parameters<typeof startSim>[0] = {}): Promise<{ sim: Sim; comfy: ComfyClient }> {
  const sim = await startSim({ port: 0, stepMs: 0, ...opts });
  const comfy = new ComfyClient(sim.url);
  cleanups.push(() => sim.close(), () => comfy.close());
  return { sim, comfy };
}

describe("nodeCatalog", () => {
  test("sorts and de-duplicates the names; the digest is sha256 hex of them joined by newlines", () => {
    const catalog = nodeCatalog(["b", "a", "b", "easy loraStack"], "0.3.64");
    expect(catalog.classes).toEqual(["a", "b", "easy loraStack"]);
    expect(catalog.digest).toBe(createHash("sha256").update("a\nb\neasy loraStack").digest("hex"));
    expect(catalog.digest).toBe(catalogDigest(["a", "b", "easy loraStack"]));
    expect(nodeCatalog(["a", "x".repeat(300)], null)).toEqual({ classes: ["a"], digest: catalogDigest(["a"]), comfyui_version: null });
  });
});

describe("ComfyClient.nodeCatalog against the sim", () => {
  test("is /object_info's class names, ComfyUI's version from /system_stats, and fits the protocol", async () => {
    const { sim, comfy } = await client({ extraNodes: ["SharpenPlus"] });
    const info = (await (await fetch(`${sim.url}/object_info`)).json()) as Record<string, unknown>;
    const catalog = await comfy.nodeCatalog();
    expect(catalog.classes).toEqual(Object.keys(info).sort());
    expect(catalog.classes).toContain("SharpenPlus");
    expect(catalog.comfyui_version).toBe("0.3.64");
    expect(NodeCatalogSchema.parse(catalog)).toEqual(catalog);
  });

  test("rigs with other custom nodes have other digests; the same classes give the same digest", async () => {
    const [a, b, c] = await Promise.all([client({ extraNodes: ["SharpenPlus"] }), client({ extraNodes: ["GrainPlus"] }), client({ extraNodes: ["SharpenPlus"] })]);
    const [da, db, dc] = await Promise.all([a.comfy.nodeCatalog(), b.comfy.nodeCatalog(), c.comfy.nodeCatalog()]);
    expect(da.digest).not.toBe(db.digest);
    expect(da.digest).toBe(dc.digest);
  });

  test("an unreachable ComfyUI is comfyui_unavailable", async () => {
    const dead = new ComfyClient("http://127.0.0.1:9");
    cleanups.push(() => dead.close());
    const err = await dead.nodeClasses().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComfyError);
    expect((err as ComfyError).code).toBe("comfyui_unavailable");
  });
});

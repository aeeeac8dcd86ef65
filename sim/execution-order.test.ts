import { describe, expect, it } from "vitest";
import { executionOrder } from "./execution-order.ts";
import type { Graph } from "./validate.ts";

const graph: Graph = {
  ckpt: { class_type: "L", inputs: {} },
  pos: { class_type: "T", inputs: { clip: ["ckpt", 1] } },
  latent: { class_type: "E", inputs: {} },
  sample: { class_type: "K", inputs: { model: ["ckpt", 0], positive: ["pos", 0], latent_image: ["latent", 0] } },
  decode: { class_type: "D", inputs: { samples: ["sample", 0], vae: ["ckpt", 2] } },
  save: { class_type: "S", inputs: { images: ["decode", 0] } },
  unused: { class_type: "X", inputs: {} },
};
const isOutput = (id: string): boolean => id === "save";

describe("executionOrder", () => {
  it("runs every upstream node before its consumers and never unreachable nodes", () => {
    const order = executionOrder(graph, ["save"], () => false, isOutput);
    expect(order).toHaveLength(6);
    expect(order).not.toContain("unused");
    for (const [id, node] of Object.entries(graph)) {
      for (const v of Object.values(node.inputs)) {
        if (Array.isArray(v) && order.includes(id)) expect(order.indexOf(v[0] as string)).toBeLessThan(order.indexOf(id));
      }
    }
    expect(order.at(-1)).toBe("save");
  });

  it("skips cached upstream nodes but always lists the output node", () => {
    const cached = new Set(["ckpt", "pos", "latent", "sample", "decode", "save"]);
    expect(executionOrder(graph, ["save"], (id) => cached.has(id), isOutput)).toEqual(["save"]);
    cached.delete("sample");
    cached.delete("decode");
    expect(executionOrder(graph, ["save"], (id) => cached.has(id), isOutput)).toEqual(["sample", "decode", "save"]);
  });
});

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { NotAJsonObject, topLevelKeys } from "./json-keys.ts";

/** The text as a stream cut into chunks at the given byte offsets. */
async function* chunks(text: string, cuts: number[] = []): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, "utf8");
  let from = 0;
  for (const cut of [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)) {
    yield bytes.subarray(from, cut);
    from = cut;
  }
  yield bytes.subarray(from);
}

const LIMITS = { maxKeyBytes: 1024, maxKeys: 20_000 };

describe("topLevelKeys", () => {
  test("reads only the top-level keys of a nested object, escapes and non-ASCII decoded", async () => {
    const info = {
      KSampler: { input: { required: { seed: ["INT", { default: 0 }] } }, name: "KSampler" },
      "easy loraStack": { input: { optional: { "lora_1_name": [["None", "a.safetensors"]] } } },
      'Quote"Node\\': { description: "braces } ] { [ in \"strings\"" },
      "Ünïcødé ノード": [1, 2, { nested: "x" }],
      Empty: {},
    };
    expect(await topLevelKeys(chunks(JSON.stringify(info, null, 2)), LIMITS)).toEqual(Object.keys(info));
  });

  test("gives the same keys however the body is cut into chunks (inside keys, escapes and multi-byte characters)", async () => {
    const text = JSON.stringify({ "Ünï\\\"x": { a: "}" }, b: [{ c: 1 }], "ノード": null });
    const expected = ["Ünï\\\"x", "b", "ノード"];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: Buffer.byteLength(text) }), { maxLength: 8 }), async (cuts) => {
        expect(await topLevelKeys(chunks(text, cuts), LIMITS)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  test("skips keys over the byte limit and stops keeping keys at the count limit", async () => {
    const text = JSON.stringify({ a: 1, [`long${"x".repeat(50)}`]: 2, b: 3, c: 4 });
    expect(await topLevelKeys(chunks(text, [5, 20]), { maxKeyBytes: 10, maxKeys: 2 })).toEqual(["a", "b"]);
  });

  test("refuses what is not one whole JSON object", async () => {
    for (const bad of ['["KSampler"]', '{"a": {"b": 1}', '{"a": 1} {"b": 2}', "", '{"a": "open']) {
      await expect(topLevelKeys(chunks(bad), LIMITS), bad).rejects.toBeInstanceOf(NotAJsonObject);
    }
    expect(await topLevelKeys(chunks(" {}\n"), LIMITS)).toEqual([]);
  });
});

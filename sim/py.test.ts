import { describe, expect, it } from "vitest";
import { PyError, pyBool, pyFloat, pyFloatStr, pyIndex, pyInt, pyLookup, pyRepr } from "./py.ts";

describe("Python semantics ComfyUI's answers depend on", () => {
  it("prints floats as repr() does", () => {
    expect([1, 0.5, 1e-5, 1e16, -0, 100].map(pyFloatStr)).toEqual(["1.0", "0.5", "1e-05", "1e+16", "-0.0", "100.0"]);
  });

  it("converts like int(), float() and bool(), with Python's error texts", () => {
    expect([pyInt("12"), pyInt(3.9), pyInt(true), pyFloat("1e3"), pyFloat(" 2.5 ")]).toEqual([12, 3, 1, 1000, 2.5]);
    expect(() => pyInt("1.5")).toThrow(new PyError("ValueError", "invalid literal for int() with base 10: '1.5'"));
    expect(() => pyInt(null)).toThrow(/not 'NoneType'/);
    expect(() => pyFloat("abc")).toThrow(/could not convert string to float: 'abc'/);
    expect([pyBool("false"), pyBool(""), pyBool(0), pyBool([]), pyBool({ a: 1 })]).toEqual([true, false, false, false, true]);
  });

  it("indexes and looks up like a tuple and a dict", () => {
    expect(pyIndex(["a", "b"], -1)).toBe("b");
    expect(() => pyIndex(["a"], 1)).toThrow(/tuple index out of range/);
    expect(() => pyLookup({ a: 1 }, "b")).toThrow(expect.objectContaining({ type: "KeyError", text: "'b'" }));
    expect(() => pyLookup({ "5": 1 }, 5)).toThrow(expect.objectContaining({ type: "KeyError", text: "5" }));
    expect(pyRepr(["it's", 1, null, { k: true }])).toBe(`["it's", 1, None, {'k': True}]`);
  });
});

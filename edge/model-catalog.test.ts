import { describe, expect, it } from "vitest";
import { configOf, type Env } from "./env.ts";
import { fetchCatalog } from "./model-catalog.ts";

const base = { PUBLIC_URL: "http://edge.test", SIGNING_KEY: "test-signing-key-0123456789abcdef", API_KEYS: "[]" };

describe("the catalog of models rigs may fetch (MODEL_CATALOG_INI)", () => {
  it("is the bundled install/configs/models.ini when the var is empty, opt-in lines included", () => {
    const config = configOf({ ...base, MODEL_CATALOG_INI: "" } as unknown as Env);
    expect(fetchCatalog(config).find({ folder: "unet", name: "flux1-dev-Q4_K_S.gguf" })).not.toBeNull();
    expect(fetchCatalog(config).find({ folder: "unet", name: "flux1-schnell-Q8_0.gguf" })).not.toBeNull();
  });

  it("is the var's models.ini text when set", () => {
    const config = configOf({ ...base, MODEL_CATALOG_INI: "[loras]\n_ = https://models.example/mine.safetensors#size=10\n" } as unknown as Env);
    expect(fetchCatalog(config).models).toEqual([{ folder: "loras", name: "mine.safetensors", url: "https://models.example/mine.safetensors", sha256: null, bytes: 10 }]);
  });

  it("a var that is not a usable models.ini stops the edge, naming the var and the line", () => {
    expect(() => configOf({ ...base, MODEL_CATALOG_INI: "[loras]\n_ = https://models.example/x.safetensors#md5=1\n" } as unknown as Env)).toThrow(
      /MODEL_CATALOG_INI: is not a usable models.ini: line 2: unknown pin/,
    );
  });
});

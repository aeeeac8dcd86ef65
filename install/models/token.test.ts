import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findHuggingFaceToken, parseDotenv } from "./token.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "token-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("findHuggingFaceToken", () => {
  it("prefers the environment, then .env in the folder; HF_TOKEN also counts", () => {
    writeFileSync(path.join(dir, ".env"), 'export HUGGINGFACE_TOKEN="hf_from_file"\n');
    expect(findHuggingFaceToken({ HUGGINGFACE_TOKEN: "hf_env" }, dir)).toBe("hf_env");
    expect(findHuggingFaceToken({ HF_TOKEN: "hf_hub_name" }, dir)).toBe("hf_hub_name");
    expect(findHuggingFaceToken({}, dir)).toBe("hf_from_file");
  });

  it("treats empty values and the original's example placeholder as no token", () => {
    writeFileSync(path.join(dir, ".env"), 'HUGGINGFACE_TOKEN="hf_YOUR_TOKEN_HERE"\n');
    expect(findHuggingFaceToken({ HUGGINGFACE_TOKEN: "" }, dir)).toBeNull();
    expect(findHuggingFaceToken({}, path.join(dir, "nowhere"))).toBeNull();
  });

  it("reads the .env subset the seed's file uses", () => {
    const values = parseDotenv(`# comment\nUVICORN_PORT="8000"\nPUBLIC_IP='http://127.0.0.1:8000' \nREDIS_DB=0 # trailing\nnot a line\n`);
    expect(Object.fromEntries(values)).toEqual({ UVICORN_PORT: "8000", PUBLIC_IP: "http://127.0.0.1:8000", REDIS_DB: "0" });
  });
});

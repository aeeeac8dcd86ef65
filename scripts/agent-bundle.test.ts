import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_NODE_FLAGS, buildAgentBundle, leanUndici } from "./agent-bundle.ts";

const SYSTEM_NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : null;

describe("the agent bundle", () => {
  const outfile = join(mkdtempSync(join(tmpdir(), "ce-agent-bundle-")), "comfy-agent.mjs");
  let source: Buffer;

  beforeAll(async () => {
    await buildAgentBundle(outfile);
    source = readFileSync(outfile);
  }, 60_000);

  it("is ASCII, so V8 holds its source at one byte a character", () => {
    const offending = source.findIndex((byte) => byte > 0x7f);
    expect(offending === -1 ? "" : source.subarray(Math.max(0, offending - 60), offending + 20).toString("utf8")).toBe("");
  });

  it("keeps its dependencies' licence comments in the file it names", () => {
    expect(source.toString("latin1")).toContain("For license information please see comfy-agent.mjs.LEGAL.txt");
    expect(readFileSync(`${outfile}.LEGAL.txt`, "utf8")).toContain("MIT License");
  });

  it("holds undici's HTTP client but not its fetch, WebSocket, caches or mocks", () => {
    const text = source.toString("latin1");
    // esbuild writes undici's classes as `var Name = class …` (a digit appended where names clash).
    const classDefined = (name: string) => new RegExp(`\\b${name}\\d*\\s*=\\s*class\\b`).test(text);
    for (const kept of ["RedirectHandler", "Agent", "Pool"]) expect(classDefined(kept), kept).toBe(true);
    expect(text).toContain("wasm_on_headers_complete");
    for (const dropped of ["MockAgent", "CacheStorage", "WebSocketStream", "EventSource", "CacheHandler", "RetryHandler", "DecompressHandler"]) expect(classDefined(dropped), dropped).toBe(false);
  });

  it("bundles undici's redirect interceptor alone; naming another says where to add it", async () => {
    const script = join(dirname(outfile), "interceptors.mjs");
    // The bundle's own `undici`, reached the way the agent reaches it: a tiny entry bundled with the same alias.
    writeFileSync(script, `import { interceptors } from "undici";\nconsole.log(typeof interceptors.redirect);\ntry { interceptors.retry; } catch (e) { console.log(e.message); }\n`);
    const probe = join(dirname(outfile), "interceptors.bundle.mjs");
    await build({
      entryPoints: [script], outfile: probe, bundle: true, platform: "node", format: "esm", logLevel: "error",
      plugins: [leanUndici],
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    const run = spawnSync(process.execPath, [probe], { encoding: "utf8" });
    expect(run.stdout.trim().split("\n")).toEqual(["function", "undici's interceptors.retry is not in the agent bundle: add it to scripts/agent-undici.ts"]);
  });

  it("has zod's English messages and no other locale", () => {
    const text = source.toString("latin1");
    expect(text).toContain("Invalid input: expected");
    expect(text).not.toContain("Entrada inv");
  });

  it.each([["the project's Node", process.execPath], ...(SYSTEM_NODE ? [["the system Node", SYSTEM_NODE]] : [])])(
    "starts under %s with the rigs' Node flags",
    (_name, node) => {
      const run = spawnSync(node, [...AGENT_NODE_FLAGS, outfile, "--help"], { encoding: "utf8", timeout: 30_000 });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("comfy-agent");
    },
  );

  it("talks to ComfyUI through undici without loading node:http2 or node:dns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ce-agent-modules-"));
    const listFile = join(dir, "modules.txt");
    const probe = join(dir, "probe.mjs");
    writeFileSync(probe, `import { writeFileSync } from "node:fs";\nprocess.on("SIGUSR2", () => writeFileSync(${JSON.stringify(listFile)}, process.moduleLoadList.join("\\n")));\n`);
    let answered = 0;
    const comfy = createServer((_req, res) => {
      answered += 1;
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
    await new Promise<void>((resolve) => comfy.listen(0, "127.0.0.1", resolve));
    const comfyUrl = `http://127.0.0.1:${(comfy.address() as AddressInfo).port}`;
    const agent = spawn(process.execPath, [...AGENT_NODE_FLAGS, "--import", probe, outfile, "--edge", "http://127.0.0.1:9", "--comfyui", comfyUrl, "--state-dir", join(dir, "state"), "--log-level", "error"], {
      env: { ...process.env, AGENT_TOKEN: "t".repeat(40) },
      stdio: "ignore",
    });
    try {
      for (let i = 0; i < 300 && answered < 3; i++) await new Promise((r) => setTimeout(r, 50));
      expect(answered).toBeGreaterThanOrEqual(3);
      agent.kill("SIGUSR2");
      for (let i = 0; i < 100 && !existsSync(listFile); i++) await new Promise((r) => setTimeout(r, 50));
      const loaded = readFileSync(listFile, "utf8").split("\n");
      expect(loaded).toContain("NativeModule net");
      expect(loaded).not.toContain("NativeModule http2");
      expect(loaded).not.toContain("NativeModule dns");
    } finally {
      agent.kill("SIGKILL");
      comfy.close();
    }
  }, 30_000);
});

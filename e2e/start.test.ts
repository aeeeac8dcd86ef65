import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Api, until } from "./helpers.ts";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe("npm start", () => {
  it("runs edge + agent + sim, prints the URL and keys, serves a job, and stops cleanly on Ctrl-C", async () => {
    const port = await freePort();
    const key = "start-test-client-key-0001";
    const child = spawn(process.execPath, ["scripts/start.ts"], {
      env: { ...process.env, PORT: String(port), STATE_DIR: mkdtempSync(join(tmpdir(), "ce-start-")), COMFY_EDGE_API_KEY: key, LOG_LEVEL: "warn", SIM_STEP_MS: "5" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await until(() => out.includes("comfy-edge is running"), 60_000, "npm start to be ready");
      expect(out).toContain(`http://127.0.0.1:${port}`);
      expect(out).toContain(`client key  ${key}`);
      expect(out).toMatch(/agent key {3}ce_agent_/);
      const api = new Api(`http://127.0.0.1:${port}`, key);
      const { task_id } = await api.submit({ prompt: "a lighthouse at dusk", steps: 4 });
      expect((await api.waitFor(task_id)).status).toBe("SUCCESS");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(out).toContain("stopped");
      await expect(fetch(`http://127.0.0.1:${port}/ping`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

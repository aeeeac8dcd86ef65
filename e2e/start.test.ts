import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "smol-toml";
import { describe, expect, it } from "vitest";
import { Api } from "./helpers.ts";

/**
 * Under the full suite's load npm start can take tens of seconds; every wait here stays well
 * inside the test's own timeout so a failure says what it waited for and shows the output.
 */
const READY_MS = 45_000;

interface Started {
  url: string;
  out: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Runs `npm start` (scripts/start.ts) and resolves when its banner is out; rejects, with the output, if it exits first. */
function npmStart(args: string[], env: Record<string, string>): { ready: Promise<Started>; exited: Promise<number | null>; out: () => string } {
  const child = spawn(process.execPath, ["scripts/start.ts", ...args], {
    env: { ...process.env, PORT: "0", LOG_LEVEL: "warn", SIM_STEP_MS: "5", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so Ctrl-C can be sent as a terminal sends it: to workerd as well.
    detached: true,
  });
  let out = "";
  // Colour codes stripped: picocolors colours the banner whenever CI is set, as in CI's own run.
  const plain = (d: Buffer) => String(d).replace(/\x1b\[[0-9;]*m/g, "");
  child.stdout.on("data", (d: Buffer) => (out += plain(d)));
  child.stderr.on("data", (d: Buffer) => (out += plain(d)));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const ready = new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`npm start printed no banner within ${READY_MS} ms; output:\n${out}`));
    }, READY_MS);
    const poll = setInterval(() => {
      const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (!url) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({
        url,
        out: () => out,
        exited,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGINT");
          return exited;
        },
      });
    }, 25);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before its banner; output:\n${out}`));
    });
  });
  ready.catch(() => undefined);
  return { ready, exited, out: () => out };
}

const stateDir = () => mkdtempSync(join(tmpdir(), "ce-start-"));

describe("npm start", () => {
  it("runs edge + agent + sim, prints the URL and keys, serves a job, and stops cleanly on Ctrl-C", async () => {
    const dir = stateDir();
    const key = "start-test-client-key-0001";
    const started = await npmStart([], { STATE_DIR: dir, COMFY_EDGE_API_KEY: key }).ready;
    try {
      expect(started.out()).toContain(`client key  ${key}  (from COMFY_EDGE_API_KEY)`);
      expect(started.out()).toMatch(new RegExp(`agent key {3}ce_agent_\\S+ {2}\\(generated, stored in ${join(dir, "local-keys.json")}\\)`));
      const api = new Api(started.url, key);
      const { task_id } = await api.submit({ prompt: "a lighthouse at dusk", steps: 4 });
      expect((await api.waitFor(task_id)).status).toBe("SUCCESS");
    } finally {
      expect(await started.stop()).toBe(0);
    }
    expect(started.out()).toContain("stopped");
    // A clean Ctrl-C is quiet: no warning (the agent's socket to the stopping edge included).
    const afterCtrlC = started.out().slice(started.out().indexOf("SIGINT: draining"));
    expect(afterCtrlC).toContain("stopped");
    expect(afterCtrlC).not.toContain('"level":"warn"');
    await expect(fetch(`${started.url}/ping`)).rejects.toThrow();
  });

  it("keeps its generated keys across a restart, refuses a second instance on the same state, and a taken --port", async () => {
    const dir = stateDir();
    const first = await npmStart([], { STATE_DIR: dir }).ready;
    const keyLine = (out: string) => /client key {2}(\S+)/.exec(out)?.[1];
    const key = keyLine(first.out());
    expect(key).toMatch(/^ce_client_/);
    try {
      const second = npmStart([], { STATE_DIR: dir });
      expect(await second.exited).toBe(1);
      expect(second.out()).toContain(`the state folder ${dir} is in use by another local edge (pid `);
      expect(second.out()).toContain(first.url);

      const port = new URL(first.url).port;
      const third = npmStart(["--port", port], { STATE_DIR: stateDir() });
      expect(await third.exited).toBe(1);
      expect(third.out()).toContain(`port ${port} is in use; set PORT=… (or --port …)`);
      expect(third.out()).not.toContain("kj::Exception");
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const again = await npmStart([], { STATE_DIR: dir }).ready;
    try {
      expect(keyLine(again.out())).toBe(key);
      expect(again.out()).toContain(`(stored in ${join(dir, "local-keys.json")})`);
      const res = await fetch(`${again.url}/workflows`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  }, 150_000);

  it("applies wrangler.toml [vars] (from --config) and environment overrides of them", async () => {
    const project = parse(readFileSync("wrangler.toml", "utf8")) as { vars: Record<string, string> };
    const toml = join(stateDir(), "wrangler.toml");
    writeFileSync(toml, stringify({ ...project, vars: { ...project.vars, MAX_BODY_BYTES: "2048" } }));
    const key = "start-vars-client-key-0001";
    const started = await npmStart(["--config", toml], { STATE_DIR: stateDir(), COMFY_EDGE_API_KEY: key, RATE_LIMIT_PER_MIN: "2" }).ready;
    try {
      const post = (prompt: string) =>
        fetch(`${started.url}/v1/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ workflow_id: "sd15_basic", params: { prompt, steps: 2 } }),
        });
      // [vars] from the file: MAX_BODY_BYTES = 2048.
      const big = await post("x".repeat(3000));
      expect(big.status).toBe(413);
      expect(((await big.json()) as { error: { message: string } }).error.message).toContain("2048");
      // The environment: RATE_LIMIT_PER_MIN=2, so the third submission in a minute is refused.
      expect((await post("one")).status).toBe(202);
      expect((await post("two")).status).toBe(202);
      const third = await post("three");
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).not.toBeNull();
    } finally {
      expect(await started.stop()).toBe(0);
    }
  }, 90_000);
});

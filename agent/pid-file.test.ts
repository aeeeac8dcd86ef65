import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { processStartTicks, stopLeftoverComfy, writePidRecord } from "./pid-file.ts";

const log = pino({ level: "silent" });
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pidfile-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A long-lived process in its own group, as the supervisor starts ComfyUI. */
function groupLeader(): ChildProcess & { pid: number } {
  const child = spawn("sleep", ["600"], { detached: true, stdio: "ignore" });
  cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
  return child as ChildProcess & { pid: number };
}

const exited = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r())));

describe.skipIf(!existsSync("/proc/self/stat"))("the launched ComfyUI's pid record", () => {
  test("a recorded process that is still that process is stopped, and the record goes", async () => {
    const file = join(await stateDir(), "comfyui-agt.json");
    const child = groupLeader();
    await writePidRecord(file, { pid: child.pid, dir: "/opt/ComfyUI", port: 8188 }, log);
    expect(existsSync(file)).toBe(true);
    const gone = exited(child);
    expect(await stopLeftoverComfy(file, log, 2_000)).toBe(child.pid);
    await gone;
    expect(child.signalCode).toBe("SIGTERM");
    expect(existsSync(file)).toBe(false);
  });

  test("a pid the system has given to another process (another start time) is left alone", async () => {
    const file = join(await stateDir(), "comfyui-agt.json");
    const stranger = groupLeader();
    const ticks = processStartTicks(stranger.pid);
    expect(ticks).toMatch(/^\d+$/);
    await writeFile(file, JSON.stringify({ pid: stranger.pid, start_ticks: String(Number(ticks) + 1), dir: "/opt/ComfyUI", port: 8188 }));
    expect(await stopLeftoverComfy(file, log, 2_000)).toBeNull();
    expect(processStartTicks(stranger.pid)).toBe(ticks);
    expect(existsSync(file)).toBe(false);
  });

  test("no record, or a garbled one, stops nothing", async () => {
    const dir = await stateDir();
    expect(await stopLeftoverComfy(join(dir, "none.json"), log)).toBeNull();
    await writeFile(join(dir, "bad.json"), "{not json");
    expect(await stopLeftoverComfy(join(dir, "bad.json"), log)).toBeNull();
  });
});

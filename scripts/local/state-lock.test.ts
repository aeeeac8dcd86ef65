import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_FILE, lockStateDir, StateDirBusyError } from "./state-lock.ts";

const stateDir = () => mkdtempSync(join(tmpdir(), "ce-lock-"));

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("lockStateDir", () => {
  it("writes a lock naming this process and the URL, and removes it on release", () => {
    const dir = stateDir();
    const lock = lockStateDir(dir);
    lock.describe("http://127.0.0.1:9999");
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid, url: "http://127.0.0.1:9999" });
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockStateDir(dir).release();
  });

  it("refuses a second holder while the first lives, naming its pid, its URL and the way out", () => {
    const dir = stateDir();
    const first = lockStateDir(dir);
    first.describe("http://127.0.0.1:8787");
    try {
      const refused = (() => {
        try {
          lockStateDir(dir);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(refused).toBeInstanceOf(StateDirBusyError);
      const message = (refused as Error).message;
      expect(message).toContain(`pid ${process.pid}`);
      expect(message).toContain("http://127.0.0.1:8787");
      expect(message).toContain("STATE_DIR=");
      expect(message).toContain(join(dir, LOCK_FILE));
    } finally {
      first.release();
    }
  });

  it("takes over a stale lock whose process is gone, and an unreadable one", () => {
    const dir = stateDir();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), url: "http://127.0.0.1:1" }));
    const lock = lockStateDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    lock.release();
    writeFileSync(join(dir, LOCK_FILE), "{half a wri");
    lockStateDir(dir).release();
  });

  it("does not remove a lock another holder took after a release", () => {
    const dir = stateDir();
    const lock = lockStateDir(dir);
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1 }));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });
});

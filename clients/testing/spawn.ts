import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CLIENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI_BIN = join(CLIENTS_DIR, "cli/bin.ts");
export const MINIMAL = join(CLIENTS_DIR, "minimal.mjs");

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) matches. */
  waitFor(pattern: RegExp, limitMs?: number): Promise<void>;
  done: Promise<Finished>;
}

const QUIET_ENV = { NO_COLOR: "1", FORCE_COLOR: undefined, COMFY_EDGE_URL: undefined, COMFY_EDGE_API_KEY: undefined };

/**
 * Starts a script under this Node (22, type stripping) with a clean client environment,
 * killed if it outlives `limitMs` so a hung child cannot hang the suite.
 */
export function start(argv: string[], env: Record<string, string | undefined> = {}, limitMs = 45_000): Running {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...QUIET_ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    listeners.forEach((l) => l());
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    listeners.forEach((l) => l());
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const done = new Promise<Finished>((resolve) =>
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor(pattern, waitMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no output matching ${pattern} within ${waitMs} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, waitMs);
        listeners.add(check);
        check();
        void done.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited before printing ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
          }
        });
      });
    },
  };
}

/** Runs `comfy-gen` to completion. */
export function cli(args: string[], env: Record<string, string | undefined> = {}, limitMs?: number): Promise<Finished> {
  return start([CLI_BIN, ...args], env, limitMs).done;
}

/** Runs the minimal client to completion. */
export function minimal(args: string[], env: Record<string, string | undefined> = {}, limitMs?: number): Promise<Finished> {
  return start([MINIMAL, ...args], env, limitMs).done;
}

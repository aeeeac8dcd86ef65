import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { CLIError } from "./cli-error.ts";
import { removePidRecord, stopLeftoverComfy, writePidRecord } from "./pid-file.ts";

export type SupervisorOptions = {
  /** ComfyUI checkout holding main.py. */
  dir: string;
  /** Interpreter; null picks `<dir>/venv`, `<dir>/.venv` or `python3`. */
  python: string | null;
  /** CUDA_VISIBLE_DEVICES for the child; null leaves the environment as is. */
  gpu: string | null;
  /** Port for ComfyUI; 0 or absent picks a free one (kept across restarts). */
  port?: number;
  extraArgs?: string[];
  /**
   * Where the child's pid (and start time) is kept: a ComfyUI recorded there that outlived
   * its agent (kill -9) is stopped before a new one starts.
   */
  pidFile?: string;
  log: Logger;
  readyTimeoutMs?: number;
  restartMinMs?: number;
  restartMaxMs?: number;
  /** ComfyUI exited unasked (in-flight work is lost). */
  onDown?: (exit: { code: number | null; signal: NodeJS.Signals | null }) => void;
  /** ComfyUI answers `/system_stats` again after a restart. */
  onUp?: () => void;
};

const TAIL_LINES = 40;

/**
 * Runs ComfyUI as a child (`<python> main.py --listen 127.0.0.1 --port <port>`) in its own
 * process group, restarts it with backoff when it dies, and kills the whole group on
 * `stop()` or when this process exits, so no GPU process is left orphaned.
 */
export class ComfySupervisor {
  readonly url: string;
  readonly port: number;
  readonly #opts: SupervisorOptions;
  readonly #python: string;
  #child: ChildProcess | null = null;
  #stopping = false;
  /** The first start-up succeeded: only from then on is an exit a crash to restart from. */
  #started = false;
  #restarts = 0;
  #up = false;
  #upWaiters: (() => void)[] = [];
  #tail: string[] = [];
  #restartTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #killOnExit = () => this.#killGroup("SIGKILL");

  private constructor(opts: SupervisorOptions, port: number) {
    this.#opts = opts;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.#python = opts.python ?? defaultPython(opts.dir);
  }

  /**
   * Starts ComfyUI and waits until it answers.
   * @throws CLIError `config` when main.py is missing, `unavailable` when ComfyUI never came up.
   */
  static async start(opts: SupervisorOptions): Promise<ComfySupervisor> {
    if (!existsSync(join(opts.dir, "main.py"))) {
      throw new CLIError(`--launch ${opts.dir}: no main.py there (point it at a ComfyUI checkout)`, "config");
    }
    if (opts.pidFile) await stopLeftoverComfy(opts.pidFile, opts.log);
    const supervisor = new ComfySupervisor(opts, opts.port || (await freePort()));
    process.on("exit", supervisor.#killOnExit);
    supervisor.#spawn();
    try {
      await supervisor.#waitReady(opts.readyTimeoutMs ?? 300_000, true);
    } catch (e) {
      await supervisor.stop();
      throw e;
    }
    supervisor.#started = true;
    return supervisor;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get isUp(): boolean {
    return this.#up;
  }

  /** Resolves when ComfyUI is up (at once if it is), or rejects with the signal's reason. */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.#up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#upWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  /** Stops ComfyUI: SIGTERM to its group, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      this.#killGroup("SIGTERM");
      const timer = setTimeout(() => this.#killGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    // Children of ComfyUI outlive it unless the group goes too.
    this.#killGroup("SIGKILL");
    process.off("exit", this.#killOnExit);
    this.#up = false;
    if (this.#opts.pidFile) await removePidRecord(this.#opts.pidFile);
  }

  #spawn(): void {
    const { dir, gpu, log } = this.#opts;
    const args = ["main.py", "--listen", "127.0.0.1", "--port", String(this.port), ...(this.#opts.extraArgs ?? [])];
    const env = { ...process.env, ...(gpu !== null ? { CUDA_VISIBLE_DEVICES: gpu } : {}) };
    log.info({ python: this.#python, args, cwd: dir, gpu }, "starting ComfyUI");
    const child = spawn(this.#python, args, { cwd: dir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.#child = child;
    if (this.#opts.pidFile && child.pid !== undefined) void writePidRecord(this.#opts.pidFile, { pid: child.pid, dir, port: this.port }, log);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.#tail.push(line);
        if (this.#tail.length > TAIL_LINES) this.#tail.shift();
        log.debug({ comfyui: line }, "comfyui output");
      });
    }
    child.on("error", (err) => log.error({ err: err.message, python: this.#python }, "could not start ComfyUI"));
    child.on("exit", (code, signal) => this.#onExit(child, code, signal));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#child) return;
    this.#killGroup("SIGKILL", child.pid);
    const wasUp = this.#up;
    this.#up = false;
    // During the first start-up, start() reports the exit (with ComfyUI's output) and gives up.
    if (this.#stopping || !this.#started) return;
    this.#opts.log.warn({ code, signal, tail: this.#tail.slice(-15) }, "ComfyUI exited; restarting it");
    if (wasUp) this.#opts.onDown?.({ code, signal });
    const min = this.#opts.restartMinMs ?? 1_000;
    const delay = Math.min(this.#opts.restartMaxMs ?? 30_000, min * 2 ** Math.min(this.#restarts, 10));
    this.#restarts += 1;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#stopping) return;
      this.#spawn();
      this.#waitReady(this.#opts.readyTimeoutMs ?? 300_000, false).catch((e: Error) => {
        this.#opts.log.error({ err: e.message }, "restarted ComfyUI did not come up; killing it to try again");
        this.#killGroup("SIGKILL");
      });
    }, delay);
  }

  async #waitReady(timeoutMs: number, first: boolean): Promise<void> {
    const child = this.#child;
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.#stopping) throw new CLIError("stopped while waiting for ComfyUI", "unavailable");
      if (child !== this.#child || !child || child.exitCode !== null || child.signalCode !== null) {
        if (first) {
          throw new CLIError(`ComfyUI exited during start-up (${child?.exitCode ?? child?.signalCode}):\n${this.#tail.slice(-15).join("\n")}`, "unavailable");
        }
        return; // #onExit schedules the next try
      }
      try {
        const res = await fetch(`${this.url}/system_stats`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.ok) {
          this.#up = true;
          this.#opts.log.info({ url: this.url, pid: child.pid, restarts: this.#restarts }, "ComfyUI is up");
          if (!first) this.#opts.onUp?.();
          for (const w of this.#upWaiters.splice(0)) w();
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new CLIError(`ComfyUI did not answer ${this.url}/system_stats within ${Math.round(timeoutMs / 1000)}s`, "unavailable");
  }

  #killGroup(signal: NodeJS.Signals, pid = this.#child?.pid): void {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

function defaultPython(dir: string): string {
  for (const venv of ["venv", ".venv"]) {
    const candidate = join(dir, venv, "bin", "python");
    if (existsSync(candidate)) return candidate;
  }
  return "python3";
}

/** A port free right now on 127.0.0.1 (ComfyUI binds it moments later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

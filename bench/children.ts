import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { SimStats } from "../sim/server.ts";
import { AGENT_NODE_FLAGS, buildAgentBundle } from "../scripts/agent-bundle.ts";
import { ROOT } from "../scripts/local/edge.ts";
import { procCpuMs, procMemory, type ProcMemory } from "./procfs.ts";

/** A child process the benchmark started, with the tail of its output for error reports. */
export interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The last lines it printed (stdout and stderr). */
  tail(): string;
  /** Peak and current RSS, read from /proc while it runs. */
  memory(): ProcMemory | null;
  /** CPU time used so far (user + system), in ms. */
  cpuMs(): number | null;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** `launcher`: a command (and its arguments) that runs node, e.g. valgrind; else node itself. */
function start(name: string, args: string[], env: NodeJS.ProcessEnv = {}, launcher: readonly string[] = []): Child {
  const [command, ...before] = launcher.length > 0 ? [...launcher, process.execPath] : [process.execPath];
  const child = spawn(command as string, [...before, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    name,
    child,
    exited,
    tail: () => lines.join("\n"),
    memory: () => (child.pid ? procMemory(child.pid) : null),
    cpuMs: () => (child.pid ? procCpuMs(child.pid) : null),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface SimChild extends Child {
  url: string;
  stats(): Promise<SimStats>;
}

/** Starts `node sim/bin.ts --port 0 --step-ms <stepMs>` and resolves once it listens. */
export async function startSimChild(name: string, stepMs: number, timeoutMs = 30_000): Promise<SimChild> {
  const c = start(name, [join(ROOT, "sim/bin.ts"), "--port", "0", "--step-ms", String(stepMs)]);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${c.tail()}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      const m = /sim listening on (http:\/\/\S+)/.exec(chunk.toString("utf8"));
      if (m) {
        clearTimeout(timer);
        c.child.stdout!.off("data", onData);
        resolve(m[1]!);
      }
    };
    c.child.stdout!.on("data", onData);
    void c.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening:\n${c.tail()}`));
    });
  });
  return {
    ...c,
    url,
    async stats() {
      const res = await fetch(`${url}/__sim/stats`);
      if (!res.ok) throw new Error(`${name}: GET /__sim/stats answered ${res.status}`);
      return (await res.json()) as SimStats;
    },
  };
}

export interface AgentChildOptions {
  edgeUrl: string;
  token: string;
  comfyUrl: string;
  stateDir: string;
  prefetch: number;
  capacity?: number;
  /** Write a V8 CPU profile into this folder when the agent exits. */
  cpuProfDir?: string;
  /** A command that runs node with the agent, e.g. `["valgrind", "--tool=cachegrind", …]`. */
  launcher?: readonly string[];
  /** The bundle to run; default: `agentBundle()`. */
  bundle?: string;
}

let bundle: Promise<string> | null = null;

/** The agent as rigs run it: bundled (once per benchmark run, from the current source). */
export function agentBundle(): Promise<string> {
  bundle ??= buildAgentBundle();
  return bundle;
}

/** Agents started from now on run this bundle (`--agent-bundle`: another commit's agent against this edge). */
export function useAgentBundle(file: string): void {
  bundle = Promise.resolve(file);
}

/**
 * Starts a real agent process as rigs run it (`node <AGENT_NODE_FLAGS> dist/comfy-agent.mjs`,
 * built by `agentBundle()` first); it connects on its own (watch `GET /agents`).
 */
export async function startAgentChild(name: string, o: AgentChildOptions): Promise<Child> {
  const node = o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  return start(
    name,
    [
      ...AGENT_NODE_FLAGS,
      ...node,
      o.bundle ?? (await agentBundle()),
      "--edge", o.edgeUrl,
      "--comfyui", o.comfyUrl,
      "--name", name,
      "--state-dir", o.stateDir,
      "--capacity", String(o.capacity ?? 1),
      "--prefetch", String(o.prefetch),
      "--log-level", "warn",
    ],
    { AGENT_TOKEN: o.token },
    o.launcher,
  );
}

/**
 * The whole local service: the edge in workerd, N agents, and a ComfyUI stand-in per agent
 * (or a real ComfyUI at `comfyUrl`). Agents run in this process (tests drive and kill them)
 * or as real child processes (the benchmark and chaos harness measure them).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent } from "../../agent/main.ts";
import type { AgentConfigInput } from "../../agent/config.ts";
import { startSim, type Sim, type SimOptions } from "../../sim/server.ts";
import { ROOT, startLocalEdge, type EdgeKeys, type LocalEdge, type LocalEdgeOptions } from "./edge.ts";

export interface StackOptions {
  keys: EdgeKeys;
  agents?: number;
  /** In-process agents (default) or child processes running agent/bin.ts. */
  agentMode?: "inprocess" | "process";
  agent?: Partial<AgentConfigInput>;
  /** Options for each agent's sim; ignored when `comfyUrl` is set. */
  sim?: SimOptions;
  comfyUrl?: string;
  edge?: Omit<LocalEdgeOptions, "keys">;
}

export interface AgentProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Stack {
  edge: LocalEdge;
  sims: Sim[];
  agents: Agent[];
  processes: AgentProcess[];
  keys: EdgeKeys;
  addAgent(i?: number, overrides?: Partial<AgentConfigInput>): Promise<Agent>;
  spawnAgent(i: number, extraArgs?: string[]): AgentProcess;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const edge = await startLocalEdge({ keys: opts.keys, ...opts.edge });
  const n = opts.agents ?? 1;
  const sims: Sim[] = [];
  if (!opts.comfyUrl) for (let i = 0; i < n; i++) sims.push(await startSim({ port: 0, ...opts.sim }));
  const stateDir = mkdtempSync(join(tmpdir(), "comfy-agent-state-"));
  const agents: Agent[] = [];
  const processes: AgentProcess[] = [];
  const comfyFor = (i: number) => opts.comfyUrl ?? sims[i % Math.max(1, sims.length)]!.url;
  const edgeUrl = () => stack.edge.url;

  // The stand-in's folders, laid out as ComfyUI's: the agent cleans each job's files out of them,
  // and fetches models on demand into its models folder (--models-dir), as on a rig.
  const comfyDirFor = (i: number): { comfyDir?: string; modelsDir?: string } => {
    const sim = opts.comfyUrl ? undefined : sims[i % Math.max(1, sims.length)];
    if (!sim) return {};
    return { ...(sim.dirs.output === join(sim.dirs.base, "output") ? { comfyDir: sim.dirs.base } : {}), modelsDir: sim.dirs.models };
  };

  async function addAgent(i = agents.length, overrides: Partial<AgentConfigInput> = {}): Promise<Agent> {
    const agent = await startAgent({
      edgeUrl: edgeUrl(),
      token: opts.keys.agent,
      comfyUrl: comfyFor(i),
      ...comfyDirFor(i),
      name: `local-${i}`,
      stateDir,
      logLevel: "warn",
      ...opts.agent,
      ...overrides,
    });
    agents.push(agent);
    await agent.connectedOnce();
    return agent;
  }

  const modelsDirArgs = (i: number): string[] => {
    const dir = comfyDirFor(i).modelsDir;
    return dir ? ["--models-dir", dir] : [];
  };

  function spawnAgent(i: number, extraArgs: string[] = []): AgentProcess {
    const child = spawn(
      process.execPath,
      [join(ROOT, "agent/bin.ts"), "--edge", edgeUrl(), "--comfyui", comfyFor(i), ...modelsDirArgs(i), "--name", `proc-${i}`, ...extraArgs],
      { env: { ...process.env, AGENT_TOKEN: opts.keys.agent, AGENT_STATE_DIR: stateDir, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" }, stdio: ["ignore", "inherit", "inherit"] },
    );
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const p: AgentProcess = {
      name: `proc-${i}`,
      child,
      exited,
      stop: (signal = "SIGTERM") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
    processes.push(p);
    return p;
  }

  const stack: Stack = {
    edge,
    sims,
    agents,
    processes,
    keys: opts.keys,
    addAgent,
    spawnAgent,
    async close() {
      await Promise.all(agents.map((a) => a.stop("stack closing").catch(() => a.kill())));
      await Promise.all(processes.map((p) => p.stop()));
      await Promise.all(sims.map((s) => s.close()));
      await stack.edge.close();
    },
  };
  if (opts.agentMode === "process") for (let i = 0; i < n; i++) spawnAgent(i);
  else for (let i = 0; i < n; i++) await addAgent(i);
  return stack;
}

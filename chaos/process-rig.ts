import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentConfigInput } from "../agent/config.ts";
import { startSim, type Sim, type SimFaults } from "../sim/server.ts";
import { startProxy, type CuttableProxy, type Direction } from "./proxy.ts";

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), "agent-process.ts");

export interface ProcessRigOptions {
  index: number;
  edgePort: number;
  agentToken: string;
  stepMs: number;
  faults: SimFaults;
  stateDir: string;
  agent: Partial<AgentConfigInput>;
  onMessage: (dir: Direction, text: string, rig: number) => void;
}

/**
 * A rig whose agent runs in its own process, so it can be frozen as a driver hang or a swap
 * storm freezes one: SIGSTOP keeps its sockets open (the kernel still ACKs) while nothing
 * in it runs; SIGCONT resumes it where it stopped.
 */
export class ProcessRig {
  readonly index: number;
  readonly sim: Sim;
  readonly proxy: CuttableProxy;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #frozen = false;
  freezes = 0;

  private constructor(index: number, sim: Sim, proxy: CuttableProxy, child: ChildProcess) {
    this.index = index;
    this.sim = sim;
    this.proxy = proxy;
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  static async start(o: ProcessRigOptions): Promise<ProcessRig> {
    const sim = await startSim({ port: 0, stepMs: o.stepMs, faults: o.faults });
    const proxy = await startProxy(o.edgePort, (dir, text) => o.onMessage(dir, text, o.index));
    const config: AgentConfigInput = {
      edgeUrl: proxy.url, token: o.agentToken, comfyUrl: sim.url, name: `chaos-${o.index}`,
      stateDir: o.stateDir, logLevel: "silent", ...o.agent,
    };
    const child = spawn(process.execPath, [ENTRY], { env: { ...process.env, CHAOS_AGENT_CONFIG: JSON.stringify(config) }, stdio: ["ignore", "pipe", "inherit"] });
    const rig = new ProcessRig(o.index, sim, proxy, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the process rig's agent did not connect within 30 s")), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("connected")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the process rig's agent exited with ${code} before connecting`));
      });
    });
    return rig;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): void {
    if (this.#frozen || this.#child.exitCode !== null) return;
    this.#child.kill("SIGSTOP");
    this.#frozen = true;
    this.freezes++;
  }

  thaw(): void {
    if (!this.#frozen) return;
    this.#child.kill("SIGCONT");
    this.#frozen = false;
  }

  async close(): Promise<void> {
    this.thaw();
    this.#child.kill("SIGKILL");
    await this.#exited;
    await this.proxy.close();
    await this.sim.close();
  }
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent } from "../agent/main.ts";
import type { AgentConfigInput } from "../agent/config.ts";
import { startSim, type Sim, type SimFaults } from "../sim/server.ts";
import { startProxy, type CuttableProxy, type Direction } from "./proxy.ts";

/** One GPU rig as the chaos run sees it: a ComfyUI stand-in, an agent, and a cuttable link to the edge. */
export interface Rig {
  readonly index: number;
  readonly sim: Sim;
  readonly proxy: CuttableProxy;
  agent: Agent | null;
  /** A kill/drain/restart under way; the monkey leaves the rig alone until it settles. */
  busy: boolean;
}

export interface FleetOptions {
  size: number;
  edgePort: number;
  agentToken: string;
  faults: SimFaults;
  /** Milliseconds per sampler step in the sims. */
  stepMs: number;
  agent: Partial<AgentConfigInput>;
  /** Every text frame on a rig's link, with the rig's index. */
  onMessage: (dir: Direction, text: string, rig: number) => void;
}

export interface FleetCounts {
  killed: number;
  drained: number;
  cuts: number;
  comfyCrashes: number;
  restarted: number;
}

/**
 * N rigs whose agents reach the edge through their own TCP proxy (so a link can be cut
 * without a close frame), killed, drained and restarted under the same name (and so the
 * same agent id, as a restarted daemon would have).
 */
export class Fleet {
  readonly rigs: Rig[];
  readonly counts: FleetCounts = { killed: 0, drained: 0, cuts: 0, comfyCrashes: 0, restarted: 0 };
  readonly #opts: FleetOptions;
  readonly #stateDir: string;

  private constructor(opts: FleetOptions, rigs: Rig[], stateDir: string) {
    this.#opts = opts;
    this.rigs = rigs;
    this.#stateDir = stateDir;
  }

  static async start(opts: FleetOptions): Promise<Fleet> {
    const stateDir = mkdtempSync(join(tmpdir(), "chaos-agents-"));
    const rigs: Rig[] = [];
    for (let i = 0; i < opts.size; i++) {
      const sim = await startSim({ port: 0, stepMs: opts.stepMs, faults: opts.faults });
      const proxy = await startProxy(opts.edgePort, (dir, text) => opts.onMessage(dir, text, i));
      rigs.push({ index: i, sim, proxy, agent: null, busy: false });
    }
    const fleet = new Fleet(opts, rigs, stateDir);
    await Promise.all(rigs.map((r) => fleet.startAgent(r)));
    return fleet;
  }

  async startAgent(rig: Rig): Promise<void> {
    if (rig.agent) return;
    rig.agent = await startAgent({
      edgeUrl: rig.proxy.url,
      token: this.#opts.agentToken,
      comfyUrl: rig.sim.url,
      name: `chaos-${rig.index}`,
      stateDir: this.#stateDir,
      logLevel: "silent",
      ...this.#opts.agent,
    });
  }

  /** Abrupt agent death: sockets dropped without close frames, no reports. With `comfyToo`, its ComfyUI dies as well. */
  kill(rig: Rig, comfyToo: boolean): void {
    if (!rig.agent) return;
    rig.agent.kill();
    rig.agent = null;
    this.counts.killed++;
    if (comfyToo) this.crashComfy(rig);
  }

  crashComfy(rig: Rig): void {
    this.counts.comfyCrashes++;
    void rig.sim.crash();
  }

  /** A graceful stop (drain: unstarted jobs released, running ones finished within the grace). */
  async drain(rig: Rig): Promise<void> {
    const agent = rig.agent;
    if (!agent) return;
    rig.agent = null;
    this.counts.drained++;
    await agent.stop("chaos: drain");
  }

  cut(rig: Rig): void {
    if (rig.proxy.cut() > 0) this.counts.cuts++;
  }

  async restart(rig: Rig): Promise<void> {
    if (rig.agent) return;
    await this.startAgent(rig);
    this.counts.restarted++;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.rigs.map(async (r) => {
        const agent = r.agent;
        r.agent = null;
        agent?.kill();
        await r.proxy.close();
        await r.sim.close();
      }),
    );
    rmSync(this.#stateDir, { recursive: true, force: true });
  }
}

import { z } from "zod";

const rate = z.number().min(0).max(1);

/** Fault probabilities per prompt (0..1) and their knobs; `POST /__sim/faults` takes the same JSON. */
export const SimFaultsSchema = z.strictObject({
  errorRate: rate.optional().describe("execution_error at a random executing node"),
  crashRate: rate.optional().describe("the whole sim dies mid-run (like sim.crash())"),
  hangRate: rate.optional().describe("the sampler stalls until interrupted"),
  slowRate: rate.optional().describe("sampler steps take slowFactor times longer"),
  rigFaultRate: rate.optional().describe("the GPU is broken: the first node to run fails with torch.AcceleratorError (a CUDA error)"),
  slowFactor: z.number().min(1).optional().describe("step-time multiplier of a slow prompt (default 4)"),
  seed: z.number().int().optional().describe("seed of the fault RNG; setting it restarts the sequence"),
  crashDownMs: z.number().min(0).optional().describe("how long a crashed sim refuses connections (default 300)"),
});
export type SimFaults = z.infer<typeof SimFaultsSchema>;

export type FaultKind = "none" | "error" | "crash" | "hang" | "slow" | "rig";

/** Where a fault strikes: a node, and for samplers how far through its steps (0..1]. */
export interface FaultPlan {
  readonly kind: FaultKind;
  readonly nodeId: string | null;
  readonly atFraction: number;
}

const NO_FAULT: FaultPlan = { kind: "none", nodeId: null, atFraction: 1 };

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws each prompt's fault from the seeded RNG: one kind, then where it strikes. */
export class FaultPlanner {
  private faults: SimFaults = {};
  private random: () => number = rng(1);

  constructor(faults: SimFaults = {}) {
    this.set(faults);
  }

  /** Merges new settings; a `seed` restarts the RNG. */
  set(faults: SimFaults): void {
    this.faults = { ...this.faults, ...faults };
    if (faults.seed !== undefined) this.random = rng(faults.seed);
  }

  get current(): SimFaults {
    return { ...this.faults };
  }

  get slowFactor(): number {
    return this.faults.slowFactor ?? 4;
  }

  get crashDownMs(): number {
    return this.faults.crashDownMs ?? 300;
  }

  /** A plan for one prompt; `nodes` are the ones that will execute, `samplers` those among them with steps. */
  plan(nodes: readonly string[], samplers: readonly string[]): FaultPlan {
    const f = this.faults;
    const rates: [FaultKind, number][] = [
      ["error", f.errorRate ?? 0], ["crash", f.crashRate ?? 0], ["hang", f.hangRate ?? 0], ["slow", f.slowRate ?? 0],
      ["rig", f.rigFaultRate ?? 0],
    ];
    if (rates.every(([, r]) => r === 0) || nodes.length === 0) return NO_FAULT;
    const u = this.random();
    let edge = 0;
    let kind: FaultKind = "none";
    for (const [k, r] of rates) {
      edge += r;
      if (u < edge) {
        kind = k;
        break;
      }
    }
    if (kind === "none") return NO_FAULT;
    // A broken device fails whatever touches it first.
    if (kind === "rig") return { kind, nodeId: nodes[0] ?? null, atFraction: 1 };
    const pool = kind === "error" || samplers.length === 0 ? nodes : samplers;
    const nodeId = pool[Math.floor(this.random() * pool.length)] ?? null;
    return { kind, nodeId, atFraction: Math.max(0.01, this.random()) };
  }
}

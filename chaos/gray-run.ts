import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfigInput } from "../agent/config.ts";
import type { TaskView } from "../shared/api.ts";
import type { SimFaults } from "../sim/server.ts";
import type { Fleet } from "./fleet.ts";
import { GrayTracker, type GrayOutcome } from "./gray.ts";
import { ProcessRig } from "./process-rig.ts";
import type { Direction } from "./proxy.ts";
import { sleep } from "./random.ts";
import type { WebhookDelivery } from "./verify.ts";
import { startWebhookReceivers, type WebhookReceivers } from "./webhook-receivers.ts";

export interface GrayReport {
  outcomes: GrayOutcome[];
  /** Another owner's webhooks (a prompt receiver): from the job's end to the delivery's arrival. */
  otherOwnerWebhookMs: number[];
  otherOwnerWebhooks: number;
  slowReceiverHits: number;
}

export interface GrayOptions {
  fleet: Fleet;
  edgePort: number;
  agentToken: string;
  stepMs: number;
  faults: SimFaults;
  agent: Partial<AgentConfigInput>;
  leaseTtlMs: number;
  onMessage: (dir: Direction, text: string, rig: number) => void;
  log: (line: string) => void;
}

/** Where job `i`'s webhook goes, and which key submits it. */
export interface WebhookPlan {
  url: string;
  owner: "client" | "other";
}

/**
 * The gray faults of a chaos run: fleet rig 0 is broken (its ComfyUI fails every prompt
 * with a CUDA error), an extra rig's agent runs in its own process and is frozen (SIGSTOP)
 * for a while, a healthy rig's link goes half-open, and most jobs' webhooks go to a receiver
 * that answers after 15 s or to none at all, while another owner's go to a prompt one.
 */
export class GrayFaults {
  readonly tracker = new GrayTracker();
  readonly #o: GrayOptions;
  readonly #frozenRig: ProcessRig;
  readonly #receivers: WebhookReceivers;
  readonly #stateDir: string;
  readonly #otherOwnerJobs = new Set<string>();
  #froze = false;
  #thawed = false;
  #stalled = false;
  #pending: Promise<void> | null = null;

  private constructor(o: GrayOptions, frozenRig: ProcessRig, receivers: WebhookReceivers, stateDir: string) {
    this.#o = o;
    this.#frozenRig = frozenRig;
    this.#receivers = receivers;
    this.#stateDir = stateDir;
  }

  static async start(o: GrayOptions): Promise<GrayFaults> {
    const stateDir = mkdtempSync(join(tmpdir(), "chaos-gray-"));
    let gray: GrayFaults | null = null;
    const onMessage = (dir: Direction, text: string, rig: number) => {
      o.onMessage(dir, text, rig);
      gray?.tracker.record(dir, text, rig);
    };
    const frozenRig = await ProcessRig.start({
      index: o.fleet.rigs.length, edgePort: o.edgePort, agentToken: o.agentToken, stepMs: o.stepMs, faults: o.faults,
      stateDir, agent: o.agent, onMessage,
    });
    const receivers = await startWebhookReceivers();
    gray = new GrayFaults(o, frozenRig, receivers, stateDir);
    const broken = o.fleet.rigs[0];
    if (broken && o.fleet.rigs.length > 1) {
      broken.sim.setFaults({ rigFaultRate: 1 });
      gray.tracker.mark("broken-rig", broken.index, true);
    }
    return gray;
  }

  /** Every frame of the fleet's links goes through here too (the tracker watches them). */
  record(dir: Direction, text: string, rig: number): void {
    this.tracker.record(dir, text, rig);
  }

  webhookFor(i: number): WebhookPlan {
    if (i % 4 === 3) return { url: this.#receivers.okUrl, owner: "other" };
    return { url: i % 3 === 0 ? this.#receivers.deadUrl : this.#receivers.slowUrl, owner: "client" };
  }

  submitted(i: number, taskId: string): void {
    const plan = this.webhookFor(i);
    if (plan.owner === "other") this.#otherOwnerJobs.add(taskId);
    else this.tracker.webhookJob(plan.url === this.#receivers.deadUrl ? "dead-webhook" : "slow-webhook", taskId);
  }

  /** Whether the freeze (and its thaw) and the stall have happened. */
  get openingDone(): boolean {
    return this.#thawed && this.#stalled;
  }

  /** Strikes as the run progresses: the freeze from 15 % of jobs done, the stall from 35 %. */
  tick(terminal: number, total: number): void {
    const frac = total === 0 ? 1 : terminal / total;
    if (!this.#froze && frac >= 0.15) {
      this.#froze = true;
      const rig = this.#frozenRig;
      this.#pending = (async () => {
        // Freeze it while it holds a job, so the freeze costs a lease (but never wait forever).
        for (let i = 0; i < 50 && this.tracker.heldBy(rig.index) === 0; i++) await sleep(100);
        rig.freeze();
        const held = this.tracker.strike("frozen-agent", rig.index);
        this.tracker.mark("frozen-agent", rig.index, false);
        const ms = Math.max(3 * this.#o.leaseTtlMs, 4000);
        this.#o.log(`froze rig ${rig.index} (SIGSTOP) holding ${held} job(s) for ${ms} ms`);
        await sleep(ms);
        rig.thaw();
        this.tracker.unmark(rig.index);
        this.#thawed = true;
        this.#o.log(`thawed rig ${rig.index} (SIGCONT)`);
      })();
    }
    if (!this.#stalled && frac >= 0.35) {
      const healthy = this.#o.fleet.rigs.filter((r) => r.index !== 0 && r.agent?.connected && !r.busy);
      const holding = healthy.find((r) => this.tracker.heldBy(r.index) > 0);
      const rig = holding ?? (frac >= 0.7 ? healthy[0] : undefined);
      if (!rig) return;
      this.#stalled = true;
      const links = rig.proxy.stall();
      const held = this.tracker.strike("half-open-link", rig.index);
      this.#o.log(`half-opened ${links} link(s) of rig ${rig.index} holding ${held} job(s)`);
    }
  }

  /** Every delivery the prompt receiver took so far (the others never answer in time, or never). */
  get deliveries(): WebhookDelivery[] {
    return this.#receivers.arrivals.map(({ taskId, eventId, type }) => ({ taskId, eventId, type }));
  }

  /** Waits for the other owner's webhooks (bounded), then tallies every fault's jobs. */
  async finish(views: Map<string, TaskView | null>, deadline: number): Promise<GrayReport> {
    await this.#pending;
    const expected = [...this.#otherOwnerJobs].filter((id) => views.get(id)?.finished_at);
    const arrived = () => new Set(this.#receivers.arrivals.map((a) => a.taskId));
    while (Date.now() < deadline && expected.some((id) => !arrived().has(id))) await sleep(200);
    const firstArrival = new Map<string, number>();
    for (const a of this.#receivers.arrivals) if (!firstArrival.has(a.taskId)) firstArrival.set(a.taskId, a.at);
    const latencies: number[] = [];
    for (const id of expected) {
      const at = firstArrival.get(id);
      const finished = views.get(id)?.finished_at;
      if (at !== undefined && finished) latencies.push(Math.max(0, at - Date.parse(finished)));
    }
    return {
      outcomes: this.tracker.outcomes(views),
      otherOwnerWebhookMs: latencies,
      otherOwnerWebhooks: expected.length,
      slowReceiverHits: this.#receivers.slowHits,
    };
  }

  async close(): Promise<void> {
    await this.#pending?.catch(() => undefined);
    await this.#frozenRig.close().catch(() => undefined);
    await this.#receivers.close();
    rmSync(this.#stateDir, { recursive: true, force: true });
  }
}

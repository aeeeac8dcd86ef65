import type { Fleet, Rig } from "./fleet.ts";
import { sleep, type Random } from "./random.ts";

export type MonkeyAction = "cut" | "kill-agent" | "kill-rig" | "drain" | "crash-comfy";

/** The first actions, in order, so even a short run sees each kind once; then random ones. */
const OPENING: MonkeyAction[] = ["cut", "kill-agent", "kill-rig", "drain", "crash-comfy"];

function randomAction(r: Random): MonkeyAction {
  const u = r.next();
  if (u < 0.3) return "cut";
  if (u < 0.5) return "kill-agent";
  if (u < 0.7) return "kill-rig";
  if (u < 0.85) return "drain";
  return "crash-comfy";
}

/**
 * Every `everyMs` (jittered) one rig that is not already recovering gets hit: its agent's
 * link cut (no close frame), the agent killed (alone, or with its ComfyUI), drained, or its
 * ComfyUI crashed. A stopped agent comes back under the same name after a short while.
 */
export class ChaosMonkey {
  readonly #fleet: Fleet;
  readonly #random: Random;
  readonly #everyMs: [number, number];
  readonly #pending = new Set<Promise<void>>();
  readonly actions: MonkeyAction[] = [];
  #stopped = false;
  #loop: Promise<void> | null = null;

  constructor(fleet: Fleet, random: Random, everyMs: [number, number]) {
    this.#fleet = fleet;
    this.#random = random;
    this.#everyMs = everyMs;
  }

  /** Whether each kind of hit has happened at least once. */
  get openingDone(): boolean {
    return this.actions.length >= OPENING.length;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops hitting rigs, waits for recoveries under way, and brings every agent back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await Promise.all(this.#pending);
    await Promise.all(this.#fleet.rigs.map((rig) => this.#fleet.restart(rig)));
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await sleep(this.#random.int(this.#everyMs[0], this.#everyMs[1]));
      if (this.#stopped) return;
      const free = this.#fleet.rigs.filter((r) => !r.busy && r.agent?.connected);
      if (free.length === 0) continue;
      const action = this.actions.length < OPENING.length ? OPENING[this.actions.length]! : randomAction(this.#random);
      const rig = this.#random.pick(free);
      this.actions.push(action);
      rig.busy = true;
      const op = this.#hit(rig, action).finally(() => {
        rig.busy = false;
        this.#pending.delete(op);
      });
      this.#pending.add(op);
    }
  }

  async #hit(rig: Rig, action: MonkeyAction): Promise<void> {
    const fleet = this.#fleet;
    switch (action) {
      case "cut":
        fleet.cut(rig);
        return;
      case "crash-comfy":
        fleet.crashComfy(rig);
        return;
      case "kill-agent":
      case "kill-rig":
        fleet.kill(rig, action === "kill-rig");
        break;
      case "drain":
        await fleet.drain(rig);
        break;
    }
    await sleep(this.#random.int(200, 1500));
    await fleet.restart(rig);
  }
}

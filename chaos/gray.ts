import type { TaskView } from "../shared/api.ts";
import type { Direction } from "./proxy.ts";

/** The gray faults of a chaos run: the rig or receiver is there, but wrong, silent or slow. */
export type GrayKind = "frozen-agent" | "half-open-link" | "broken-rig" | "slow-webhook" | "dead-webhook";
export const GRAY_KINDS: readonly GrayKind[] = ["frozen-agent", "half-open-link", "broken-rig", "slow-webhook", "dead-webhook"];

export interface GrayOutcome {
  kind: GrayKind;
  /** Times the fault struck (a freeze, a stall, a receiver that exists all run counts once). */
  hits: number;
  /** Jobs it touched: leased to the rig when it struck or while it lasted, or whose webhook it was. */
  touched: number;
  /** How those jobs ended, by status (and error code for failures). */
  endings: Record<string, number>;
  /** Touched jobs that FAILED with a cause the fault explains (none may, with a healthy rig in the pool). */
  failedByFault: number;
  /** For silent rigs: from the fault to the job's next lease on another rig, per job. */
  redispatchMs: number[];
}

interface Strike {
  kind: GrayKind;
  rig: number;
  at: number;
  /** Jobs held then, waiting to be leased elsewhere. */
  waiting: Set<string>;
}

/** Codes a rig-side fault turns into when the queue does not route around it. */
const RIG_CAUSES = new Set(["lease_expired", "rig_error", "comfyui_unavailable", "agent_error", "timeout", "interrupted", "agent_shutdown"]);

/**
 * Watches the agent links for what each gray fault touched: which jobs a rig held when it
 * froze or its link went half-open, every job a broken rig was handed, and how long each
 * held job took to be leased to another rig.
 */
export class GrayTracker {
  readonly #held = new Map<number, Set<string>>();
  readonly #strikes: Strike[] = [];
  readonly #touched = new Map<GrayKind, Set<string>>();
  readonly #hits = new Map<GrayKind, number>();
  readonly #redispatch = new Map<GrayKind, number[]>();
  /** Rigs whose every lease counts as touched (a broken rig; a frozen one while frozen). */
  readonly #marked = new Map<number, GrayKind>();

  #touch(kind: GrayKind, job: string): void {
    let s = this.#touched.get(kind);
    if (!s) this.#touched.set(kind, (s = new Set()));
    s.add(job);
  }

  /** One text frame seen on rig `rig`'s link. */
  record(dir: Direction, text: string, rig: number, at = Date.now()): void {
    let m: { type?: unknown; job_id?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return;
    }
    const job = typeof m?.job_id === "string" ? m.job_id : null;
    if (!job) return;
    if (dir === "down" && m.type === "job") {
      for (const [r, held] of this.#held) if (r !== rig) held.delete(job);
      let held = this.#held.get(rig);
      if (!held) this.#held.set(rig, (held = new Set()));
      held.add(job);
      const marked = this.#marked.get(rig);
      if (marked) this.#touch(marked, job);
      for (const s of this.#strikes) {
        if (s.rig !== rig && s.waiting.delete(job)) {
          const list = this.#redispatch.get(s.kind) ?? [];
          list.push(at - s.at);
          this.#redispatch.set(s.kind, list);
        }
      }
    } else if (dir === "up" && (m.type === "complete" || m.type === "fail" || m.type === "release")) {
      this.#held.get(rig)?.delete(job);
    }
  }

  /** How many jobs `rig` holds now, as seen on its link. */
  heldBy(rig: number): number {
    return this.#held.get(rig)?.size ?? 0;
  }

  /** A silent fault struck `rig` now: the jobs it holds are touched and should move elsewhere. */
  strike(kind: GrayKind, rig: number, at = Date.now()): number {
    const held = [...(this.#held.get(rig) ?? [])];
    for (const job of held) this.#touch(kind, job);
    this.#strikes.push({ kind, rig, at, waiting: new Set(held) });
    this.#hits.set(kind, (this.#hits.get(kind) ?? 0) + 1);
    return held.length;
  }

  /** From now until `unmark`, every job leased to `rig` is touched by `kind`; `hit` counts it as one more strike. */
  mark(kind: GrayKind, rig: number, hit: boolean): void {
    this.#marked.set(rig, kind);
    if (hit) this.#hits.set(kind, (this.#hits.get(kind) ?? 0) + 1);
  }

  unmark(rig: number): void {
    this.#marked.delete(rig);
  }

  /** Jobs whose webhook goes to a faulty receiver. */
  webhookJob(kind: "slow-webhook" | "dead-webhook", job: string): void {
    this.#touch(kind, job);
    if (!this.#hits.has(kind)) this.#hits.set(kind, 1);
  }

  /** Per kind: hits, touched jobs and how they ended. */
  outcomes(views: Map<string, TaskView | null>): GrayOutcome[] {
    return GRAY_KINDS.map((kind) => {
      const jobs = this.#touched.get(kind) ?? new Set<string>();
      const endings: Record<string, number> = {};
      let failedByFault = 0;
      for (const id of jobs) {
        const v = views.get(id);
        const key = !v ? "unknown" : v.status === "FAILURE" ? `FAILURE:${v.error?.code ?? "?"}` : v.status;
        endings[key] = (endings[key] ?? 0) + 1;
        const silentOrBroken = kind === "frozen-agent" || kind === "half-open-link" || kind === "broken-rig";
        if (silentOrBroken && v?.status === "FAILURE" && RIG_CAUSES.has(v.error?.code ?? "")) failedByFault++;
      }
      return { kind, hits: this.#hits.get(kind) ?? 0, touched: jobs.size, endings, failedByFault, redispatchMs: this.#redispatch.get(kind) ?? [] };
    });
  }
}

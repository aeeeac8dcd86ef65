import { PreviewRelay } from "./preview-relay.ts";
import type { ComfyPreview } from "./comfy/preview-frame.ts";
import type { Logger } from "pino";
import { freeSlots, type AgentMessage, type JobError, type JobMessage, type LeaseRef } from "../shared/protocol.ts";
import type { ComfyClient } from "./comfy/client.ts";
import type { ComfyEventHub } from "./comfy/event-hub.ts";
import { missingModels, type ProducedFile, type RunOutcome, type StopReason } from "./comfy/outcome.ts";
import { promptTag } from "./comfy/ownership.ts";
import { PromptRun, type RunProgress } from "./comfy/run.ts";
import type { Tuning } from "./config.ts";
import { deliverOutputs } from "./deliver.ts";
import type { JobFiles } from "./job-files.ts";
import { stageInputs } from "./inputs.ts";
import type { Metrics } from "./metrics.ts";
import { Outbox, type FinalMessage } from "./outbox.ts";
import { Throttle } from "./throttle.ts";

/** Where a held job is: staging inputs, waiting in ComfyUI's queue, executing, uploading outputs. */
export type JobState = "staging" | "queued" | "running" | "uploading";
type ProgressMessage = Extract<AgentMessage, { type: "progress" }>;

type Slot = {
  job: JobMessage;
  state: JobState;
  abort: AbortController;
  run: PromptRun | null;
  acceptedAt: number;
  runningSince: number | null;
  /** Leases taken over by a newer lease for the same job: finish without a word. */
  silent: boolean;
  log: Logger;
  progress: Throttle<ProgressMessage>;
  settled: Promise<void>;
};

export type JobSlotsDeps = {
  comfy: ComfyClient;
  /** The agent's one ComfyUI socket, shared by its prompts; without it each prompt opens its own. */
  events?: ComfyEventHub;
  /** Sends to the edge; false when not connected (the message is then dropped). */
  send: (message: AgentMessage) => boolean;
  log: Logger;
  metrics: Metrics;
  capacity: number;
  prefetch: number;
  jobTimeoutMs: number;
  tuning: Tuning;
  /** Tags each prompt (`extra_data`) so that only this agent id ever reclaims it. */
  agentId?: string;
  /** Deletes each job's files from ComfyUI's input/ and output/ when it ends; absent: they stay. */
  files?: JobFiles | null;
  /** ComfyUI refused a model its inventory listed: the inventory is worth reading again. */
  onModelMissing?: () => void;
  /** Resolves when ComfyUI is up (under --launch it may be restarting). */
  comfyReady?: (signal: AbortSignal) => Promise<void>;
};

/**
 * The job's one progress number: ComfyUI's run fills 0..RUN_SHARE, the uploads the rest, and
 * only the edge's SUCCESS says 100.
 */
const RUN_SHARE = 95;
const uploadPercent = (done: number, total: number): number => RUN_SHARE + ((100 - RUN_SHARE) * done) / Math.max(1, total);

/** How long the start of a run waits to be reported: long enough for instant jobs to be uploading by then. */
const RUNNING_HOLD_MS = 20;

export const STOP = {
  cancelled: { code: "cancelled", message: "cancelled by the edge", retryable: false },
  released: { code: "released", message: "handed back unstarted", retryable: true },
  shutdown: { code: "agent_shutdown", message: "the agent shut down before the job finished", retryable: true },
  superseded: { code: "superseded", message: "a newer lease for this job arrived", retryable: true },
} as const satisfies Record<string, StopReason>;

/**
 * The job slots: accepts leased jobs up to capacity + prefetch, runs each through
 * inputs → ComfyUI → uploads, and reports exactly one `complete`, `fail` or `release`
 * per lease. Final messages are kept until the edge acks them and re-sent after a reconnect.
 */
export class JobSlots {
  readonly #deps: JobSlotsDeps;
  readonly #slots = new Map<string, Slot>();
  readonly #outbox = new Outbox();
  #draining = false;
  /** Why ComfyUI cannot take jobs now, or null while it can. */
  #comfyDown: string | null = null;

  constructor(deps: JobSlotsDeps) {
    this.#deps = deps;
    deps.metrics.inFlight = () => this.#slots.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Leases held now (for heartbeats). */
  leases(): LeaseRef[] {
    this.#outbox.prune();
    return [...this.#slots.values()].filter((s) => !s.silent).map((s) => ({ job_id: s.job.job_id, lease_id: s.job.lease_id }));
  }

  /** Held jobs and their state, for tests and status. */
  snapshot(): { job_id: string; lease_id: string; state: JobState; prompt_id: string | null }[] {
    return [...this.#slots.values()].map((s) => ({ job_id: s.job.job_id, lease_id: s.job.lease_id, state: s.state, prompt_id: s.run?.promptId ?? null }));
  }

  unackedCount(): number {
    return this.#outbox.size;
  }

  accept(job: JobMessage): void {
    const log = this.#deps.log.child({ job_id: job.job_id, lease_id: job.lease_id, attempt: job.attempt });
    if (this.#slots.has(job.lease_id) || this.#outbox.has(job.lease_id)) {
      log.debug("job for a lease already held; ignored");
      return;
    }
    for (const old of this.#slots.values()) {
      if (old.job.job_id === job.job_id) {
        old.log.warn("a newer lease arrived for this job; dropping the old one");
        old.silent = true;
        this.#halt(old, STOP.superseded);
      }
    }
    const live = [...this.#slots.values()].filter((s) => !s.silent);
    const held = { total: live.length, uploading: live.filter((s) => s.state === "uploading").length };
    if (this.#draining || this.#comfyDown !== null || freeSlots(this.#deps, held) <= 0) {
      const reason = this.#draining ? "agent is draining" : (this.#comfyDown ?? "agent is at capacity");
      log.warn({ reason }, "job refused");
      this.#final(log, { type: "release", job_id: job.job_id, lease_id: job.lease_id, reason });
      this.#deps.metrics.jobsReleased += 1;
      return;
    }
    const slot: Slot = {
      job,
      state: "staging",
      abort: new AbortController(),
      run: null,
      acceptedAt: Date.now(),
      runningSince: null,
      silent: false,
      log,
      progress: new Throttle(this.#deps.tuning.progressIntervalMs, (m) => this.#deps.send(m)),
      settled: Promise.resolve(),
    };
    this.#slots.set(job.lease_id, slot);
    log.info({ inputs: job.inputs.length }, "job accepted");
    slot.settled = this.#execute(slot).finally(() => {
      slot.progress.close();
      if (this.#slots.get(job.lease_id) === slot) this.#slots.delete(job.lease_id);
    });
  }

  /** `cancel` from the edge: stops the job wherever it is; it then fails with code `cancelled`. */
  cancel(ref: LeaseRef): void {
    const slot = this.#slots.get(ref.lease_id);
    if (!slot || slot.job.job_id !== ref.job_id) {
      this.#deps.log.debug(ref, "cancel for a lease not held; ignored");
      return;
    }
    slot.log.info({ state: slot.state }, "cancelling");
    this.#halt(slot, STOP.cancelled);
  }

  ack(ref: LeaseRef): void {
    this.#outbox.ack(ref);
  }

  /** After every `welcome`: results the edge may not have seen go again. */
  connected(leaseTtlMs: number): void {
    for (const message of this.#outbox.resend(leaseTtlMs)) this.#deps.send(message);
  }

  /**
   * ComfyUI is unreachable (exited, refusing, hung): the rig's fault, not the jobs'. Every held
   * job goes back to the edge as a `release` (no attempt used), wherever it was; new ones are
   * refused the same way until `comfyUp()`.
   */
  comfyDown(why: string): void {
    const reason: StopReason = { code: "released", message: `ComfyUI is unreachable (${why}); handed back`.slice(0, 256), retryable: true };
    this.#comfyDown = reason.message;
    for (const slot of this.#slots.values()) {
      if (slot.abort.signal.aborted) continue;
      slot.log.warn({ state: slot.state }, "handing the job back: ComfyUI is unreachable");
      slot.abort.abort(reason);
      slot.run?.abandon(reason);
    }
  }

  comfyUp(): void {
    this.#comfyDown = null;
  }

  /** `folder/name` of the models the jobs held now use (a fetched model they use is not evicted). */
  heldModels(): string[] {
    return [...this.#slots.values()].flatMap((s) => s.job.models);
  }

  /** Prompt ids of the jobs held now (they are not to be reclaimed). */
  promptIds(): Set<string> {
    return new Set([...this.#slots.values()].flatMap((s) => (s.run ? [s.run.promptId] : [])));
  }

  /** As a crash: every job is dropped without a report (ComfyUI keeps what it has). */
  abandonAll(): void {
    this.#draining = true;
    for (const slot of this.#slots.values()) {
      slot.silent = true;
      slot.abort.abort(STOP.shutdown);
      slot.run?.abandon(STOP.shutdown);
    }
    this.#outbox.clear();
  }

  /**
   * Stops taking jobs, hands back those ComfyUI has not started (taking them out of its
   * queue), waits up to `graceMs` for the rest, then stops those and fails them retryable.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    await Promise.all(
      [...this.#slots.values()].map(async (slot) => {
        if (slot.state === "staging") this.#halt(slot, STOP.released);
        else if (slot.state === "queued" && slot.run && (await slot.run.withdraw())) slot.log.info("withdrawn from ComfyUI's queue");
      }),
    );
    const all = () => Promise.all([...this.#slots.values()].map((s) => s.settled));
    if (await settlesWithin(all(), graceMs)) return;
    for (const slot of this.#slots.values()) {
      slot.log.warn({ grace_ms: graceMs }, "still running after the drain grace; stopping it");
      this.#halt(slot, STOP.shutdown);
    }
    await settlesWithin(all(), this.#deps.tuning.stopWaitMs + 5_000);
  }

  /** Resolves once the edge acked every result, or after `ms`. */
  async waitForAcks(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.#outbox.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  #halt(slot: Slot, reason: StopReason): void {
    if (slot.abort.signal.aborted) return;
    slot.abort.abort(reason);
  }

  async #execute(slot: Slot): Promise<void> {
    const { job, log, abort } = slot;
    const { comfy, metrics, tuning, files } = this.#deps;
    const staged: string[] = [];
    let outputs: ProducedFile[] = [];
    try {
      const inputsIn = await stageInputs(comfy, job, abort.signal, (path) => staged.push(path));
      const graph = files ? files.isolate(inputsIn, job.lease_id) : inputsIn;
      await this.#deps.comfyReady?.(abort.signal);
      abort.signal.throwIfAborted();
      // The workflow's own limit (the edge sends it) wins; the agent's --job-timeout covers edges that send none.
      const limitMs = job.timeout_s !== undefined ? job.timeout_s * 1000 : this.#deps.jobTimeoutMs;
      const run = new PromptRun(comfy, {
        graph,
        ...(this.#deps.agentId ? { extraData: promptTag(this.#deps.agentId, job) } : {}),
        signal: abort.signal,
        timeoutMs: limitMs,
        queuedTimeoutMs: limitMs * (this.#deps.capacity + this.#deps.prefetch + 1),
        pollMs: tuning.pollMs,
        comfyDownMs: tuning.comfyDownMs,
        stopWaitMs: tuning.stopWaitMs,
        log,
        ...(this.#deps.events ? { events: this.#deps.events } : {}),
        onProgress: (p) => this.#onRunProgress(slot, p),
        ...(job.previews ? { onPreview: previewsOf(job, this.#deps.send) } : {}),
      });
      slot.run = run;
      slot.state = "queued";
      log.debug({ prompt_id: run.promptId }, "submitting to ComfyUI");
      const outcome = await run.outcome;
      if (outcome.ok) outputs = outcome.outputs;
      if (slot.runningSince !== null) metrics.busySeconds += (Date.now() - slot.runningSince) / 1000;
      await this.#afterRun(slot, outcome);
    } catch (e) {
      this.#failFromError(slot, e);
    } finally {
      // Not for a lease taken over by a newer one (same job, same input names) or dropped as in a crash.
      if (files && !slot.silent) await files.remove({ leaseId: job.lease_id, inputs: staged, outputs });
    }
  }

  async #afterRun(slot: Slot, outcome: RunOutcome): Promise<void> {
    const { job, log, abort } = slot;
    if (abort.signal.aborted) return this.#failFromError(slot, abort.signal.reason);
    if (!outcome.ok) {
      if (outcome.error.code === "released") return this.#release(slot, "withdrawn before ComfyUI started it");
      const missing = outcome.error.code === "invalid_prompt" ? missingModels(outcome.error.details, job.models) : [];
      if (missing.length > 0) {
        // The graph is fine; this rig lacks a model its inventory claimed. Another rig may have it.
        log.warn({ missing }, "ComfyUI lacks models the job needs");
        this.#deps.onModelMissing?.();
        const details = typeof outcome.error.details === "object" && outcome.error.details !== null ? outcome.error.details : {};
        return this.#fail(slot, true, { code: "model_missing", message: `this rig lacks ${missing.join(", ")}`, details: { ...details, missing_models: missing } });
      }
      return this.#fail(slot, outcome.retryable, outcome.error);
    }
    if (outcome.outputs.length === 0) {
      return this.#fail(slot, false, { code: "no_outputs", message: "the workflow finished without writing any output file (type output)" });
    }
    slot.state = "uploading";
    // The workflow's max_outputs (the grant's max_files): the first files go, the rest are only counted.
    const files = outcome.outputs.slice(0, job.upload.max_files);
    const dropped = outcome.outputs.length - files.length;
    if (dropped > 0) log.warn({ produced: outcome.outputs.length, max_files: job.upload.max_files, dropped }, "the graph made more files than the workflow's max_outputs; delivering the first ones");
    const total = files.length;
    // At once: the edge counts an uploading job out of ComfyUI's slots and sends the next one.
    slot.progress.pushNow(this.#progress(slot, { phase: "uploading", value: 0, max: total, unit: "files", percent: uploadPercent(0, total), node: null, step_name: null }));
    const outputs = await deliverOutputs(this.#deps.comfy, files, job.upload, job.output_format, {
      signal: abort.signal,
      retries: this.#deps.tuning.uploadRetries,
      minTimeoutMs: this.#deps.tuning.uploadMinMs,
      onRetry: (attempt, error) => log.warn({ attempt, err: error.message }, "upload attempt failed; retrying"),
      onFileDone: (done) => slot.progress.push(this.#progress(slot, { phase: "uploading", value: done, max: total, unit: "files", percent: uploadPercent(done, total), node: null, step_name: null })),
    });
    if (abort.signal.aborted) return this.#failFromError(slot, abort.signal.reason);
    // `complete` says more than any progress still held ("uploading 1/1"): that one is dropped.
    slot.progress.close();
    this.#deps.metrics.jobsDone += 1;
    this.#deps.metrics.uploadedBytes += outputs.reduce((n, o) => n + o.bytes, 0);
    log.info({ prompt_id: outcome.promptId, run_ms: outcome.runMs, outputs: outputs.length, dropped }, "job complete");
    this.#final(log, {
      type: "complete", job_id: job.job_id, lease_id: job.lease_id, outputs, prompt_id: outcome.promptId, run_ms: outcome.runMs,
      ...(dropped > 0 ? { dropped_outputs: dropped } : {}),
    });
  }

  /**
   * Progress to the edge, each costing it a write: "queued in ComfyUI" only if the job is still
   * waiting a throttle interval later; the start of a run after RUNNING_HOLD_MS (a job that is
   * already uploading by then says so instead, one frame fewer); steps throttled.
   */
  #onRunProgress(slot: Slot, p: RunProgress): void {
    const message = this.#progress(slot, { ...p, percent: (p.percent * RUN_SHARE) / 100 });
    if (p.phase === "queued") return slot.progress.defer(message);
    if (p.phase === "running" && slot.state === "queued") {
      slot.state = "running";
      slot.runningSince = Date.now();
      const waited = (Date.now() - slot.acceptedAt) / 1000;
      this.#deps.metrics.queueWait(waited);
      slot.log.info({ queue_wait_s: waited }, "running in ComfyUI");
      return slot.progress.defer(message, RUNNING_HOLD_MS);
    }
    slot.progress.push(message);
  }

  #progress(slot: Slot, p: Omit<ProgressMessage, "type" | "job_id" | "lease_id">): ProgressMessage {
    // The edge refuses value > max (shared/protocol.ts); a miscounted node total must not cost the frame.
    const max = Math.max(0, p.max);
    return { type: "progress", job_id: slot.job.job_id, lease_id: slot.job.lease_id, ...p, value: Math.min(Math.max(0, p.value), max), max };
  }

  #failFromError(slot: Slot, e: unknown): void {
    const reason = slot.abort.signal.aborted ? (slot.abort.signal.reason as StopReason) : null;
    if (reason && reason.code === "released") return this.#release(slot, reason.message);
    if (reason) return this.#fail(slot, reason.retryable, { code: reason.code, message: reason.message });
    const err = e as { code?: unknown; retryable?: unknown; message?: unknown };
    if (typeof err?.code === "string" && typeof err.retryable === "boolean") {
      return this.#fail(slot, err.retryable, { code: err.code, message: String(err.message ?? err.code) });
    }
    if (typeof err?.code === "string" && err.code.startsWith("comfyui_")) {
      return this.#fail(slot, true, { code: err.code, message: String(err.message ?? err.code) });
    }
    slot.log.error({ err: e instanceof Error ? e.stack : String(e) }, "unexpected failure");
    this.#fail(slot, true, { code: "agent_error", message: `the agent failed: ${e instanceof Error ? e.message : String(e)}` });
  }

  #fail(slot: Slot, retryable: boolean, error: JobError): void {
    if (slot.silent) return;
    slot.progress.flush();
    this.#deps.metrics.failed(error.code);
    slot.log.warn({ code: error.code, retryable, error: error.message }, "job failed");
    const message = { ...error, message: error.message.slice(0, 4096) };
    this.#final(slot.log, { type: "fail", job_id: slot.job.job_id, lease_id: slot.job.lease_id, retryable, error: message });
  }

  #release(slot: Slot, reason: string): void {
    if (slot.silent) return;
    slot.progress.close();
    this.#deps.metrics.jobsReleased += 1;
    slot.log.info({ reason }, "lease released");
    this.#final(slot.log, { type: "release", job_id: slot.job.job_id, lease_id: slot.job.lease_id, reason: reason.slice(0, 256) });
  }

  #final(log: Logger, message: FinalMessage): void {
    this.#outbox.add(message);
    if (!this.#deps.send(message)) log.info({ type: message.type }, "edge not connected; result kept until it is");
  }
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The relay of a job whose client asked for live previews. */
function previewsOf(job: JobMessage, send: (m: AgentMessage) => boolean): (p: ComfyPreview) => void {
  const relay = new PreviewRelay({ job_id: job.job_id, lease_id: job.lease_id }, send);
  return (p) => relay.offer(p);
}

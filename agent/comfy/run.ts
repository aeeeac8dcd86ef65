import type { ComfyPreview } from "./preview-frame.ts";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { ComfyClient } from "./client.ts";
import type { ComfyEventHub } from "./event-hub.ts";
import { isComfyError } from "./errors.ts";
import { executionFailure, externalInterrupt, failure, outcomeFromHistory, producedFiles, stopped, submitFailure, type RunOutcome, type StopReason } from "./outcome.ts";
import { PromptWatch, type RunProgress } from "./watch.ts";

export type { RunProgress } from "./watch.ts";
export type RunPhase = "submitting" | "queued" | "running" | "done";

export type RunOptions = {
  graph: Record<string, unknown>;
  /** Our own id for the prompt (so it can be traced even if the `POST /prompt` answer is lost); the answer's id wins. */
  promptId?: string;
  /** `extra_data` for `POST /prompt`: tags that say whose prompt it is. */
  extraData?: Record<string, unknown>;
  /** Ignored with `events` (the hub's client id is used). */
  clientId?: string;
  /** The agent's shared ComfyUI socket; without it the run opens a socket of its own. */
  events?: ComfyEventHub;
  /** Aborting stops the prompt; the reason, if a StopReason, becomes the failure. */
  signal?: AbortSignal;
  /** Limit on execution time, counted from the moment ComfyUI starts the prompt. */
  timeoutMs?: number;
  /** Limit on time waiting in ComfyUI's queue. */
  queuedTimeoutMs?: number;
  /** How often `/queue` + `/history` are read while the socket is down or the prompt is stopping. */
  pollMs?: number;
  /** How long ComfyUI may be unreachable before the run fails retryable. */
  comfyDownMs?: number;
  /** How long a stopped prompt may take to leave ComfyUI. */
  stopWaitMs?: number;
  onProgress?: (progress: RunProgress) => void;
  /** ComfyUI's live previews of this prompt (its own socket: frames arrive while it runs). */
  onPreview?: (preview: ComfyPreview) => void;
  log?: Logger;
};

const FINISH_POLL_MS = 50;
const IDLE_WAKE_MS = 60_000;
export const RELEASED: StopReason = { code: "released", message: "withdrawn before ComfyUI started it", retryable: true };

/**
 * Runs one prompt on ComfyUI to an outcome, never throwing: opens the event socket
 * before submitting (so a fast prompt cannot finish unseen), follows its events, falls
 * back to `/queue` + `/history` whenever the socket is down, and stops the prompt (queue
 * delete, or interrupt by prompt id) on abort, timeout or `stop()`.
 *
 * @example
 * const run = new PromptRun(comfy, { graph, onProgress });
 * const outcome = await run.outcome; // { ok: true, outputs } | { ok: false, retryable, error }
 */
export class PromptRun {
  #promptId: string;
  readonly clientId: string;
  readonly outcome: Promise<RunOutcome>;
  readonly #comfy: ComfyClient;
  readonly #opts: RunOptions;
  readonly #watch: PromptWatch;
  #submittedAt: number | null = null;
  #done = false;
  #stop: StopReason | null = null;
  #stopAppliedAt: number | null = null;
  #abandoned: StopReason | null = null;
  #downSince: number | null = null;
  #wake: (() => void) | null = null;
  #dirty = false;

  constructor(comfy: ComfyClient, opts: RunOptions) {
    this.#comfy = comfy;
    this.#opts = opts;
    this.#promptId = opts.promptId ?? randomUUID();
    this.clientId = opts.events?.clientId ?? opts.clientId ?? randomUUID();
    this.#watch = new PromptWatch(comfy, { clientId: this.clientId, promptId: this.promptId }, opts.graph, {
      onChange: () => this.#poke(),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onPreview ? { onPreview: opts.onPreview } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    });
    const onAbort = () => this.stop(asStopReason(opts.signal?.reason));
    if (opts.signal?.aborted) this.#stop = asStopReason(opts.signal.reason);
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    this.outcome = this.#run().finally(() => {
      this.#done = true;
      opts.signal?.removeEventListener("abort", onAbort);
      this.#watch.close();
    });
  }

  /** The id asked for until `POST /prompt` answers; from then on the id ComfyUI answered with. */
  get promptId(): string {
    return this.#promptId;
  }

  get phase(): RunPhase {
    if (this.#done) return "done";
    if (this.#watch.running) return "running";
    return this.#submittedAt === null ? "submitting" : "queued";
  }

  /** Stops the prompt (queue delete or interrupt); the outcome becomes a failure with `reason`. */
  stop(reason: StopReason): void {
    if (this.#stop || this.#done) return;
    this.#stop = reason;
    this.#poke();
  }

  /** Gives up on the prompt without asking ComfyUI anything (it is gone, e.g. its process died). */
  abandon(reason: StopReason): void {
    if (this.#done) return;
    this.#abandoned = reason;
    this.#stop ??= reason;
    this.#poke();
  }

  /**
   * Takes the prompt back if ComfyUI has not started it: true when it is gone (the outcome
   * then fails with code `released`), false when it runs or ran (the outcome stands).
   */
  async withdraw(): Promise<boolean> {
    const phase = this.phase;
    if (phase === "running" || phase === "done" || this.#stop) return false;
    if (phase === "submitting") {
      this.stop(RELEASED);
      return true;
    }
    try {
      await this.#comfy.deleteQueued([this.promptId]);
      const q = await this.#comfy.queue();
      if (q.running.includes(this.promptId) || q.pending.includes(this.promptId)) return false;
      if (await this.#comfy.history(this.promptId)) return false;
    } catch {
      return false;
    }
    this.#stop = RELEASED;
    this.#stopAppliedAt = Date.now();
    this.#poke();
    return true;
  }

  async #run(): Promise<RunOutcome> {
    if (this.#stop) return stopped(null, this.#stop);
    try {
      await this.#watch.open();
    } catch (e) {
      return submitFailure(e);
    }
    if (this.#stop) return stopped(null, this.#stop);
    try {
      const { prompt_id } = await this.#comfy.submit(this.#opts.graph, this.clientId, this.promptId, this.#opts.extraData);
      if (prompt_id !== this.#promptId) this.#opts.log?.info({ asked: this.#promptId, prompt_id }, "ComfyUI chose its own prompt id; following it");
      this.#promptId = prompt_id;
      this.#watch.adopt(prompt_id);
    } catch (e) {
      return { ...submitFailure(e), promptId: this.promptId };
    }
    this.#submittedAt = Date.now();
    // ComfyUI may have started it before answering: then "queued" would be a step back.
    if (!this.#watch.running) this.#opts.onProgress?.({ phase: "queued", value: 0, max: 1, unit: "nodes", percent: 0, node: null, step_name: null });
    return this.#follow();
  }

  async #follow(): Promise<RunOutcome> {
    const watch = this.#watch;
    const pollMs = this.#opts.pollMs ?? 1_000;
    for (;;) {
      this.#dirty = false;
      if (this.#abandoned) return stopped(this.promptId, this.#abandoned);
      if (watch.error) return executionFailure(this.promptId, watch.error);
      if (watch.interrupted) {
        const { node_id, node_type } = watch.interrupted;
        return this.#stop ? stopped(this.promptId, this.#stop) : externalInterrupt(this.promptId, node_id, node_type);
      }
      if (this.#stop && this.#stopAppliedAt === null) await this.#applyStop();
      if (this.#stop === RELEASED && !watch.finished) return stopped(this.promptId, RELEASED);
      if (this.#stop && Date.now() - (this.#stopAppliedAt ?? 0) > (this.#opts.stopWaitMs ?? 30_000)) {
        this.#opts.log?.warn({ prompt_id: this.promptId }, "stopped prompt did not leave ComfyUI in time; giving up on it");
        return stopped(this.promptId, this.#stop);
      }
      const limit = this.#timeLimit();
      if (!this.#stop && limit !== null && Date.now() >= limit.at) {
        this.stop(limit.reason);
        continue;
      }
      if (watch.socketDown || watch.finished || watch.missedEvents || this.#stop) {
        watch.missedEvents = false;
        const outcome = await this.#poll();
        if (outcome) return outcome;
      }
      if (watch.socketDown) await watch.reopen();
      if (this.#dirty) continue;
      const interval = watch.finished ? FINISH_POLL_MS : watch.socketDown || this.#stop ? pollMs : IDLE_WAKE_MS;
      await this.#sleep(limit ? Math.max(1, Math.min(interval, limit.at - Date.now())) : interval);
    }
  }

  /** Queue first, then history: ComfyUI moves a prompt from one to the other atomically. */
  async #poll(): Promise<RunOutcome | null> {
    try {
      // The socket said it finished: its history entry is all that is needed (no /queue), unless
      // ComfyUI has not stored it yet; then the queue says whether it still runs.
      if (this.#watch.finished && !this.#watch.socketDown) {
        const reported = this.#stop ? null : this.#watch.reportedOutputs();
        const files = reported ? producedFiles(reported) : [];
        // No files reported: history decides (it may know outputs the socket did not carry).
        if (files.length > 0) return { ok: true, promptId: this.promptId, outputs: files, runMs: this.#runMs() };
        const entry = await this.#comfy.history(this.promptId);
        if (entry) return outcomeFromHistory(this.promptId, entry, this.#runMs(), this.#stop);
      }
      const q = await this.#comfy.queue();
      this.#downSince = null;
      if (q.running.includes(this.promptId)) {
        this.#watch.markRunning();
        return null;
      }
      if (q.pending.includes(this.promptId)) return null;
      const entry = await this.#comfy.history(this.promptId);
      if (entry) return outcomeFromHistory(this.promptId, entry, this.#runMs(), this.#stop);
      if (this.#stop) return stopped(this.promptId, this.#stop);
      return failure(this.promptId, true, {
        code: "comfyui_unavailable",
        message: `ComfyUI no longer knows prompt ${this.promptId} (it restarted or dropped it)`,
      });
    } catch (e) {
      this.#downSince ??= Date.now();
      const downMs = Date.now() - this.#downSince;
      this.#opts.log?.debug({ prompt_id: this.promptId, err: String(e), down_ms: downMs }, "ComfyUI poll failed");
      if (downMs < (this.#opts.comfyDownMs ?? 60_000)) return null;
      if (this.#stop) return stopped(this.promptId, this.#stop);
      return failure(this.promptId, true, {
        code: "comfyui_unavailable",
        message: `ComfyUI unreachable for ${Math.round(downMs / 1000)}s while running prompt ${this.promptId}: ${isComfyError(e) ? e.message : String(e)}`,
      });
    }
  }

  async #applyStop(): Promise<void> {
    this.#stopAppliedAt = Date.now();
    try {
      await this.#comfy.deleteQueued([this.promptId]);
      const q = await this.#comfy.queue();
      // By prompt id only: a bare interrupt stops whatever runs, maybe another client's prompt.
      if (q.running.includes(this.promptId)) await this.#comfy.interrupt(this.promptId);
    } catch (e) {
      this.#opts.log?.warn({ prompt_id: this.promptId, err: String(e) }, "could not stop the prompt in ComfyUI");
    }
  }

  #timeLimit(): { at: number; reason: StopReason } | null {
    const { timeoutMs, queuedTimeoutMs } = this.#opts;
    const startedAt = this.#watch.startedAt;
    if (startedAt !== null && timeoutMs !== undefined) {
      const message = `job ran longer than ${Math.round(timeoutMs / 1000)}s; interrupted`;
      return { at: startedAt + timeoutMs, reason: { code: "timeout", message, retryable: true } };
    }
    if (startedAt === null && this.#submittedAt !== null && queuedTimeoutMs !== undefined) {
      const message = `job waited in ComfyUI's queue longer than ${Math.round(queuedTimeoutMs / 1000)}s`;
      return { at: this.#submittedAt + queuedTimeoutMs, reason: { code: "timeout", message, retryable: true } };
    }
    return null;
  }

  #runMs(): number {
    return Date.now() - (this.#watch.startedAt ?? this.#submittedAt ?? Date.now());
  }

  #sleep(ms: number): Promise<void> {
    if (this.#dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  #poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }
}

/** Runs one prompt to its outcome (see PromptRun). */
export function runPrompt(comfy: ComfyClient, opts: RunOptions): Promise<RunOutcome> {
  return new PromptRun(comfy, opts).outcome;
}

function asStopReason(reason: unknown): StopReason {
  if (typeof reason === "object" && reason !== null && typeof (reason as StopReason).code === "string") {
    const r = reason as Partial<StopReason>;
    return { code: r.code as string, message: r.message ?? r.code ?? "stopped", retryable: r.retryable ?? false };
  }
  return { code: "cancelled", message: "cancelled", retryable: false };
}

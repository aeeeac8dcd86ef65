import type { NodeCache } from "./cache.ts";
import { executionError, type NodeFailureAt } from "./execution-error.ts";
import { executionOrder } from "./execution-order.ts";
import type { FaultPlan, FaultPlanner } from "./faults.ts";
import type { SimFiles } from "./files.ts";
import type { ModelFolders } from "./folders.ts";
import type { NodeClassDef } from "./node-classes.ts";
import { type Behaviour, BEHAVIOURS, type RunContext } from "./node-behaviour.ts";
import { deviceFailure, injectedFailure } from "./node-errors.ts";
import { encodePng, hash32 } from "./png.ts";
import { ProgressRegistry } from "./progress.ts";
import { PyError } from "./py.ts";
import type { PromptQueue, QueueItem } from "./queue.ts";
import { type Outcome, now, type StatsRecorder } from "./stats.ts";
import type { Graph } from "./validate.ts";
import type { WsHub } from "./ws-hub.ts";

export interface ExecutorDeps {
  readonly queue: PromptQueue;
  readonly hub: WsHub;
  readonly cache: NodeCache;
  readonly files: SimFiles;
  readonly folders: ModelFolders;
  readonly faults: FaultPlanner;
  readonly stats: StatsRecorder;
  readonly classes: Readonly<Record<string, NodeClassDef>>;
  /** What each class does; default BEHAVIOURS (the sim's extra custom node classes add theirs). */
  readonly behaviours?: Readonly<Record<string, Behaviour>>;
  /** Milliseconds per sampler step. */
  readonly stepMs: number;
  /** Whether sampler steps send binary previews (ComfyUI's `--preview-method` other than none). */
  readonly previews: boolean;
  /** The crash fault: the sim dies like a killed ComfyUI. */
  crash(): void;
}

/** ComfyUI's `InterruptProcessingException`. */
class Interrupted extends Error {
  override readonly name = "Interrupted";
}
/** The sim "died" (crash or close): this run must leave no trace. */
class Abandoned extends Error {
  override readonly name = "Abandoned";
}

const SAMPLERS = new Set(["KSampler", "SamplerCustomAdvanced"]);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * ComfyUI's prompt worker and `PromptExecutor` in one: takes prompts off the queue one at a
 * time and runs them, sending what ComfyUI sends in its order (execution_start,
 * execution_cached, per-node progress_state/executing/executed, progress per sampler step,
 * then success, error or interrupted; history; status; last `executing {node: null}`).
 */
export class Executor {
  /** Client of the running (or last) prompt, and its current node: replayed to a reconnecting socket. */
  clientId: string | null = null;
  lastNodeId: string | null = null;
  private readonly deps: ExecutorDeps;
  private interrupted = false;
  private epoch = 0;
  private looping = false;
  private waiters: (() => void)[] = [];

  constructor(deps: ExecutorDeps) {
    this.deps = deps;
  }

  /** Starts working through the queue if idle (soon, so the HTTP answer goes out first). */
  kick(): void {
    if (this.looping) return;
    this.looping = true;
    const epoch = this.epoch;
    setImmediate(() => void this.loop(epoch));
  }

  /** `POST /interrupt`: global, or only when `promptId` is the running prompt. */
  interrupt(promptId?: string): void {
    if (promptId !== undefined && !this.deps.queue.isRunning(promptId)) return;
    this.interrupted = true;
    this.wake();
  }

  /** Crash or close: the running prompt vanishes without another message. */
  abandon(): void {
    this.epoch++;
    this.looping = false;
    this.clientId = null;
    this.lastNodeId = null;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async loop(epoch: number): Promise<void> {
    while (epoch === this.epoch) {
      const item = this.deps.queue.take();
      if (!item) break;
      await this.run(item, epoch);
    }
    if (epoch === this.epoch) this.looping = false;
  }

  private isChangedToken(node: Graph[string]): string {
    const kind = this.deps.classes[node.class_type]?.isChanged;
    if (kind === "always") return String(now());
    if (kind === "input-file") return this.deps.files.fileToken(String(node.inputs?.image));
    return "";
  }

  private async run(item: QueueItem, epoch: number): Promise<void> {
    const { hub, cache, stats, classes, queue } = this.deps;
    const alive = (): boolean => epoch === this.epoch;
    const { prompt, promptId } = item;
    stats.started(promptId, item.receivedAt);
    this.interrupted = false;
    const clientId = typeof item.extraData.client_id === "string" ? item.extraData.client_id : null;
    this.clientId = clientId;
    const messages: [string, Record<string, unknown>][] = [];
    const add = (event: string, data: Record<string, unknown>, broadcast = false): void => {
      const stamped = { ...data, timestamp: Date.now() };
      messages.push([event, stamped]);
      if (clientId !== null || broadcast) hub.send(event, stamped, clientId);
    };

    add("execution_start", { prompt_id: promptId });
    const sigs = cache.signatures(prompt, (id) => this.isChangedToken(prompt[id] as Graph[string]));
    cache.retain(sigs.values());
    const isCached = (id: string): boolean => cache.get(sigs.get(id)) !== undefined;
    add("execution_cached", { nodes: Object.keys(prompt).filter(isCached), prompt_id: promptId });
    const progress = new ProgressRegistry(promptId, hub);
    const classOf = (id: string): NodeClassDef | undefined => classes[prompt[id]?.class_type ?? ""];
    const order = executionOrder(prompt, item.outputs, isCached, (id) => classOf(id)?.outputNode === true);
    const toRun = order.filter((id) => !isCached(id));
    const plan = this.deps.faults.plan(toRun, toRun.filter((id) => SAMPLERS.has(prompt[id]?.class_type ?? "")));
    const values = new Map<string, readonly unknown[]>();
    const executed: string[] = [];
    let failure: NodeFailureAt | null = null;

    for (const id of order) {
      const node = prompt[id] as Graph[string];
      const sig = sigs.get(id) as string;
      const hit = cache.get(sig);
      if (hit) {
        if (clientId !== null) hub.send("executed", { node: id, display_node: id, output: hit.ui, prompt_id: promptId }, clientId);
        progress.finish(id);
        values.set(id, hit.outputs);
        continue;
      }
      progress.start(id);
      if (clientId !== null) {
        this.lastNodeId = id;
        hub.send("executing", { node: id, display_node: id, prompt_id: promptId }, clientId);
      }
      const inputs = this.resolveInputs(node, (src) => values.get(src) ?? cache.get(sigs.get(src))?.outputs);
      try {
        if (this.interrupted) throw new Interrupted();
        if (plan.nodeId === id && plan.kind === "rig") throw deviceFailure(node.class_type);
        if (plan.nodeId === id && !SAMPLERS.has(node.class_type)) await this.strikeAtNode(plan, node.class_type, epoch);
        const behaviour = (this.deps.behaviours ?? BEHAVIOURS)[node.class_type];
        if (!behaviour) throw new PyError("NotImplementedError", `the sim has no behaviour for ${node.class_type}`);
        const result = await behaviour(inputs, this.context(item, id, node, plan, progress, clientId, epoch));
        if (!alive()) return;
        const ui = result.ui ?? null;
        if (ui && clientId !== null) hub.send("executed", { node: id, display_node: id, output: ui, prompt_id: promptId }, clientId);
        cache.set(sig, { outputs: result.outputs, ui });
        values.set(id, result.outputs);
      } catch (error) {
        if (!alive() || error instanceof Abandoned) return;
        failure = { id, error, inputs };
        break;
      }
      progress.finish(id);
      executed.push(id);
    }

    let outcome: Outcome = "success";
    if (!failure) add("execution_success", { prompt_id: promptId });
    else if (failure.error instanceof Interrupted) {
      outcome = "interrupted";
      const node_type = prompt[failure.id]?.class_type;
      add("execution_interrupted", { prompt_id: promptId, node_id: failure.id, node_type, executed }, true);
    } else {
      outcome = "error";
      add("execution_error", executionError(item, failure, executed, this.deps.classes));
    }
    const outputs: Record<string, unknown> = {};
    const meta: Record<string, unknown> = {};
    for (const id of Object.keys(prompt)) {
      const ui = cache.get(sigs.get(id))?.ui;
      if (!ui) continue;
      outputs[id] = ui;
      meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
    }
    this.lastNodeId = null;
    const ok = outcome === "success";
    queue.done(item, { outputs, meta }, { status_str: ok ? "success" : "error", completed: ok, messages });
    if (clientId !== null) hub.send("executing", { node: null, prompt_id: promptId }, clientId);
    stats.ended(outcome);
  }

  /** A node's inputs: constants as given, links as the upstream node's output (run now or cached). */
  private resolveInputs(node: Graph[string], outputsOf: (id: string) => readonly unknown[] | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(node.inputs ?? {})) {
      const isLink = Array.isArray(v) && v.length === 2 && typeof v[0] === "string";
      out[name] = isLink ? outputsOf(v[0] as string)?.[v[1] as number] : v;
    }
    return out;
  }

  /** A fault at a node without steps strikes as the node starts. */
  private async strikeAtNode(plan: FaultPlan, classType: string, epoch: number): Promise<void> {
    if (plan.kind === "error") throw injectedFailure(classType);
    if (plan.kind === "crash") {
      this.deps.crash();
      throw new Abandoned();
    }
    if (plan.kind === "hang") {
      await this.untilInterrupted(epoch);
      if (epoch !== this.epoch) throw new Abandoned();
      if (this.interrupted) throw new Interrupted();
    }
  }

  private untilInterrupted(epoch: number): Promise<void> {
    if (this.interrupted || epoch !== this.epoch) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private context(
    item: QueueItem, id: string, node: Graph[string], plan: FaultPlan, progress: ProgressRegistry,
    clientId: string | null, epoch: number,
  ): RunContext {
    const { hub, files, folders, faults } = this.deps;
    const promptId = item.promptId;
    let pngText: Record<string, string> | undefined;
    const textFor = (): Record<string, string> => {
      if (pngText) return pngText;
      pngText = { prompt: JSON.stringify(item.prompt) };
      const info = item.extraData.extra_pnginfo;
      if (typeof info === "object" && info !== null) {
        for (const [k, v] of Object.entries(info)) pngText[k] = JSON.stringify(v);
      }
      return pngText;
    };
    const previewMeta = { node_id: id, prompt_id: promptId, display_node_id: id, parent_node_id: null, real_node_id: id };
    return {
      nodeId: id,
      classType: node.class_type,
      files,
      folders,
      get pngText() {
        return textFor();
      },
      sample: async (steps, key) => {
        const preview = this.deps.previews ? encodePng(64, 64, hash32(key)) : null;
        const strikeAt = plan.nodeId === id ? Math.max(1, Math.ceil(plan.atFraction * steps)) : -1;
        const stepMs = this.deps.stepMs * (plan.kind === "slow" ? faults.slowFactor : 1);
        for (let step = 1; step <= steps; step++) {
          if (step === strikeAt && plan.kind === "hang") await this.untilInterrupted(epoch);
          if (stepMs > 0) await sleep(stepMs);
          if (epoch !== this.epoch) throw new Abandoned();
          if (step === strikeAt && plan.kind === "crash") {
            this.deps.crash();
            throw new Abandoned();
          }
          if (step === strikeAt && plan.kind === "error") throw injectedFailure(node.class_type);
          if (this.interrupted) throw new Interrupted();
          progress.update(id, step, steps);
          hub.send("progress", { value: step, max: steps, prompt_id: promptId, node: id }, clientId);
          if (preview) hub.sendPreview(preview, clientId, previewMeta);
        }
      },
      sendImage: (png, index, total) => {
        progress.update(id, index, total);
        hub.send("progress", { value: index, max: total, prompt_id: promptId, node: id }, clientId);
        hub.sendImage(png, clientId);
      },
    };
  }
}

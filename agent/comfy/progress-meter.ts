/** One node's entry in ComfyUI's `progress_state` (comfy_execution/progress.py; pending nodes are left out). */
export type NodeProgress = { value: number; max: number; state: string };

/**
 * A prompt's progress as one number that never goes backwards: every node of the graph
 * counts the same, a finished (or cached) node counts whole, a running node by its own
 * value/max (a sampler's steps). ComfyUI runs only the nodes its outputs need, so a graph
 * with unused nodes ends below 100 here; the run's end is what says it is done.
 *
 * @example
 * const meter = new ProgressMeter(Object.keys(graph));
 * meter.cached(["1"]); meter.steps("3", 5, 20);
 * meter.percent; // 0..100
 */
export class ProgressMeter {
  readonly #nodes: ReadonlySet<string>;
  readonly #done = new Set<string>();
  /** Fractions (0..1) of nodes started but not finished. */
  readonly #partial = new Map<string, number>();
  #percent = 0;

  constructor(nodeIds: Iterable<string>) {
    this.#nodes = new Set(nodeIds);
  }

  /** The furthest point reached, 0..100. */
  get percent(): number {
    return this.#percent;
  }

  /** Nodes finished or served from cache, and the node count, for a "nodes x of y" view. */
  get nodesDone(): number {
    return this.#done.size;
  }

  get nodeCount(): number {
    return this.#nodes.size;
  }

  /** `execution_cached`: these nodes will not run. */
  cached(ids: readonly string[]): void {
    for (const id of ids) this.#finish(id);
    this.#update();
  }

  /** `executing {node}`: the node starts; without `progress_state` (older ComfyUI), the one before it is done. */
  executing(id: string, previous: string | null): void {
    if (previous !== null && previous !== id) this.#finish(previous);
    if (!this.#done.has(id) && !this.#partial.has(id)) this.#partial.set(id, 0);
    this.#update();
  }

  /** `progress {value, max, node}`: a node's own steps. */
  steps(id: string, value: number, max: number): void {
    if (!this.#done.has(id) && max > 0) this.#partial.set(id, Math.max(this.#partial.get(id) ?? 0, Math.min(1, value / max)));
    this.#update();
  }

  /** `progress_state {nodes}`: ComfyUI's whole picture of the prompt's non-pending nodes. */
  states(nodes: Readonly<Record<string, NodeProgress>>): void {
    for (const [id, node] of Object.entries(nodes)) {
      if (node.state === "finished") this.#finish(id);
      else if (node.state === "running" && !this.#done.has(id) && node.max > 0) {
        this.#partial.set(id, Math.max(this.#partial.get(id) ?? 0, Math.min(1, node.value / node.max)));
      }
    }
    this.#update();
  }

  /** `execution_success`: every node that started has finished (the last snapshot may not have been read). */
  settle(): void {
    for (const id of [...this.#partial.keys()]) this.#finish(id);
    this.#update();
  }

  #finish(id: string): void {
    if (!this.#nodes.has(id)) return;
    this.#partial.delete(id);
    this.#done.add(id);
  }

  #update(): void {
    const total = this.#nodes.size;
    if (total === 0) return;
    let units = this.#done.size;
    for (const [id, f] of this.#partial) if (this.#nodes.has(id)) units += f;
    const percent = Math.min(100, (units / total) * 100);
    if (percent > this.#percent) this.#percent = percent;
  }
}

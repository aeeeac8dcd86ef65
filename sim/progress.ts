import type { WsHub } from "./ws-hub.ts";

interface NodeProgress {
  state: "running" | "finished";
  value: number;
  max: number;
}

/**
 * ComfyUI's per-prompt `ProgressRegistry` with its web handler: every start, update and finish
 * broadcasts `progress_state` with all nodes touched so far (to every socket, as ComfyUI does).
 */
export class ProgressRegistry {
  private readonly nodes = new Map<string, NodeProgress>();
  private readonly promptId: string;
  private readonly hub: WsHub;

  constructor(promptId: string, hub: WsHub) {
    this.promptId = promptId;
    this.hub = hub;
  }

  start(id: string): void {
    this.nodes.set(id, { state: "running", value: 0, max: 1 });
    this.emit();
  }

  update(id: string, value: number, max: number): void {
    this.nodes.set(id, { state: "running", value, max });
    this.emit();
  }

  finish(id: string): void {
    const entry = this.nodes.get(id) ?? { state: "finished", value: 0, max: 1 };
    entry.state = "finished";
    entry.value = entry.max;
    this.nodes.set(id, entry);
    this.emit();
  }

  private emit(): void {
    if (!this.hub.reaches(null)) return;
    const nodes: Record<string, unknown> = {};
    for (const [id, p] of this.nodes) {
      nodes[id] = {
        value: p.value, max: p.max, state: p.state, node_id: id, prompt_id: this.promptId,
        display_node_id: id, parent_node_id: null, real_node_id: id,
      };
    }
    this.hub.send("progress_state", { prompt_id: this.promptId, nodes }, null);
  }
}

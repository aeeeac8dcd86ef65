import type { FieldError } from "../../shared/errors.ts";
import { rigCanRun, type Requirements, type RigOffer } from "../../shared/requirements.ts";
import type { AgentRecord } from "./agents.ts";
import type { QueueCore } from "./core.ts";
import { unknownClasses } from "./gaps.ts";
import type { NewJob } from "./types.ts";

/** A connected agent as the requirements rule sees it. */
function offerOf(q: QueueCore, a: AgentRecord): RigOffer {
  return { inventory: a.inventory, classes: q.agents.classesOf(a) };
}

function connectedAgents(q: QueueCore): AgentRecord[] {
  return q.agents.list().filter((a) => q.isConnected(a.agent_id));
}

/** The ids of the graph's nodes of each class (read only to word a refusal). */
function nodeIdsByClass(graphJson: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  try {
    const graph = JSON.parse(graphJson) as Record<string, { class_type?: unknown }>;
    for (const [id, node] of Object.entries(graph)) {
      if (typeof node?.class_type === "string") out.set(node.class_type, [...(out.get(node.class_type) ?? []), id]);
    }
  } catch {
    // The route stored valid JSON; without it the refusal names classes only.
  }
  return out;
}

/**
 * At submit: when the connected agents all reported node catalogs and none has a class the
 * jobs' graphs name, the refusal (`unknown_node`, naming the classes); otherwise null. No agent
 * connected, or one that reported no catalog: null (the job waits, as for a missing model).
 */
export function refuseUnknownNodes(q: QueueCore, jobs: NewJob[], pool: string): { code: "unknown_node"; message: string; details: FieldError[] } | null {
  const wanted = [...new Set(jobs.flatMap((j) => j.nodes ?? []))].sort();
  if (wanted.length === 0) return null;
  const unknown = unknownClasses(connectedAgents(q).map((a) => offerOf(q, a)), wanted);
  if (unknown.length === 0) return null;
  const ids = nodeIdsByClass(jobs.find((j) => (j.nodes ?? []).some((n) => unknown.includes(n)))!.graph_json);
  const s = unknown.length > 1 ? "es" : "";
  return {
    code: "unknown_node",
    message: `No agent connected to pool "${pool}" has the node class${s} ${unknown.join(", ")}; install the custom node${unknown.length > 1 ? "s" : ""} on a rig, or use other nodes.`,
    details: unknown.map((cls) => {
      const at = ids.get(cls) ?? [];
      return {
        path: at.length ? `graph.${at[0]}.class_type` : "graph",
        rule: "unknown_node",
        message: `${cls}${at.length ? ` (node${at.length > 1 ? "s" : ""} ${at.join(", ")})` : ""}: no connected agent's ComfyUI has this node class.`,
      };
    }),
  };
}

/** For each requirements set, how many connected agents that take jobs can run it now. */
export function agentsReady(q: QueueCore, reqs: Requirements[]): number[] {
  const offers = connectedAgents(q)
    .filter((a) => a.accepting)
    .map((a) => offerOf(q, a));
  return reqs.map((req) => offers.filter((rig) => rigCanRun(rig, req)).length);
}

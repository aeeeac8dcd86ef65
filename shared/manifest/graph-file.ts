import { formatKey, ManifestError } from "./manifest-error.ts";
import { findBrokenLink, isLink, nodeOf, nodesTitled } from "./graph.ts";
import { parseWith, readJson, type ManifestFiles } from "./files.ts";
import { GraphSchema, type Graph, type MapTo, type Target } from "./schema.ts";

/** Reads and checks a workflow's graph file (ComfyUI API format). */
export function loadGraph(files: ManifestFiles, workflowId: string, workflowFile: string): Graph {
  const file = `workflows/${workflowFile}`;
  const json = readJson(files, file, formatKey([workflowId, "workflow_file"]), "workflows.yaml");
  if (typeof json === "object" && json !== null && "nodes" in json && "links" in json) {
    throw new ManifestError(file, "(root)", 'is a UI-format workflow; save it with "Export (API)" instead');
  }
  const graph = parseWith(GraphSchema, json, file, []);
  if (Object.keys(graph).length === 0) throw new ManifestError(file, "(root)", "has no nodes");
  const broken = findBrokenLink(graph);
  if (broken) {
    throw new ManifestError(file, formatKey([broken.node, "inputs", broken.input]), `links to node "${broken.source}", which the graph lacks`);
  }
  return graph;
}

type TargetsResult = { ok: true; targets: Target[] } | { ok: false; reason: string };

/** Where `map_to` points in this graph: by `_meta.title` (its `inputs.value`) or by explicit node and input. */
export function resolveTargets(graph: Graph, mapTo: MapTo, graphFile: string): TargetsResult {
  const targets: Target[] = [];
  for (const entry of Array.isArray(mapTo) ? mapTo : [mapTo]) {
    if (typeof entry === "string") {
      const ids = nodesTitled(graph, entry);
      if (ids.length === 0) return { ok: false, reason: `no node in ${graphFile} has _meta.title ${JSON.stringify(entry)}` };
      for (const node of ids) targets.push({ node, input: "value" });
    } else {
      targets.push(entry);
    }
  }
  for (const { node, input } of targets) {
    const found = nodeOf(graph, node);
    if (!found) return { ok: false, reason: `node "${node}" is not in ${graphFile}` };
    const what = `node "${node}" (${found.class_type})`;
    if (!Object.hasOwn(found.inputs, input)) return { ok: false, reason: `${what} in ${graphFile} has no input "${input}"` };
    const current = found.inputs[input];
    if (isLink(current)) {
      return { ok: false, reason: `${what} input "${input}" is a link from node "${current[0]}"; a parameter sets literal inputs only` };
    }
  }
  return { ok: true, targets };
}

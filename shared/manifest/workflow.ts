import { checkValue } from "./check-value.ts";
import { parseWith, type ManifestFiles } from "./files.ts";
import { consumersOf, graphModels, isLink, nodeOf } from "./graph.ts";
import { loadGraph, resolveTargets } from "./graph-file.ts";
import { formatKey, ManifestError } from "./manifest-error.ts";
import { applyOverride, buildSpec } from "./param-spec.ts";
import {
  WORKFLOW_ID,
  WorkflowEntrySchema,
  type BaseParam,
  type Graph,
  type Lora,
  type OptionalNode,
  type ParamSpec,
  type Target,
  type Workflow,
} from "./schema.ts";

const FILE = "workflows.yaml";

function fail(path: PropertyKey[], reason: string): never {
  throw new ManifestError(FILE, formatKey(path), reason);
}

const targetKey = (t: Target): string => `${t.node}\u0000${t.input}`;

/** Builds one workflow from its workflows.yaml entry, base.yaml's parameters and its graph file. */
export function loadWorkflow(
  id: string,
  raw: unknown,
  base: Record<string, BaseParam>,
  loras: Record<string, Lora>,
  files: ManifestFiles,
): Workflow {
  if (!WORKFLOW_ID.test(id)) fail([id], "workflow ids are letters, digits, _, . or - (at most 128)");
  const entry = parseWith(WorkflowEntrySchema, raw ?? {}, FILE, [id]);
  const graphFile = `workflows/${entry.workflow_file}`;
  const graph = loadGraph(files, id, entry.workflow_file);

  const listed = new Set<string>();
  entry.parameters.forEach((name, i) => {
    if (listed.has(name)) fail([id, "parameters", i], `"${name}" is listed twice`);
    if (!Object.hasOwn(base, name)) fail([id, "parameters", i], `"${name}" is not defined in base.yaml`);
    listed.add(name);
  });
  for (const name of Object.keys(entry.overrides)) {
    if (!listed.has(name)) fail([id, "overrides", name], `"${name}" is not among ${id}.parameters`);
  }

  const params: Record<string, ParamSpec> = {};
  const writers = new Map<string, string>();
  entry.parameters.forEach((name, i) => {
    const override = entry.overrides[name];
    const written = applyOverride(base[name] as BaseParam, override);
    const built = buildSpec(name, written, loras);
    // base.yaml's entry alone was proven sound, so a failure here comes from the override.
    if (!built.ok) fail([id, "overrides", name, ...built.key], built.reason);
    const resolved = resolveTargets(graph, written.map_to, graphFile);
    if (!resolved.ok) {
      if (override?.map_to !== undefined) fail([id, "overrides", name, "map_to"], resolved.reason);
      fail([id, "parameters", i], `"${name}" maps to ${JSON.stringify(written.map_to)} (base.yaml), but ${resolved.reason}; give it an override map_to`);
    }
    for (const target of resolved.targets) {
      const other = writers.get(targetKey(target));
      if (other !== undefined && other !== name) {
        fail([id, "parameters", i], `"${name}" and "${other}" both set node "${target.node}" input "${target.input}"`);
      }
      writers.set(targetKey(target), name);
    }
    params[name] = { ...built.spec, targets: resolved.targets };
  });

  for (const [nodeId, optional] of Object.entries(entry.optional_nodes)) {
    checkOptionalNode(id, graph, graphFile, params, nodeId, optional);
  }

  if (entry.budget) {
    // An image-driven workflow's pixels are its input image's (checked at submit from the upload's recorded size).
    const imageDriven = Object.values(params).some((p) => p.type === "image");
    const missing = ["steps", ...(imageDriven ? [] : ["width", "height"])].filter((p) => !params[p]);
    if (missing.length > 0) {
      fail([id, "budget"], `needs the parameter steps and either width and height or an image parameter; ${id} lacks ${missing.join(", ")}`);
    }
  }

  const models = graphModels(graph, (at) => writers.has(targetKey(at)) || Object.hasOwn(entry.optional_nodes, at.node));
  return {
    id,
    description: entry.description,
    workflow_file: entry.workflow_file,
    pool: entry.pool,
    timeout_s: entry.timeout_s,
    retry_on_timeout: entry.retry_on_timeout,
    max_outputs: entry.max_outputs,
    ...(entry.budget && { budget: entry.budget }),
    graph,
    params,
    optional_nodes: entry.optional_nodes,
    models,
  };
}

function checkOptionalNode(
  id: string,
  graph: Graph,
  graphFile: string,
  params: Record<string, ParamSpec>,
  nodeId: string,
  optional: OptionalNode,
): void {
  const at = [id, "optional_nodes", nodeId];
  const node = nodeOf(graph, nodeId);
  if (!node) fail(at, `node "${nodeId}" is not in ${graphFile}`);
  const { param, equals } = optional.bypass_when;
  const spec = params[param];
  if (!spec) fail([...at, "bypass_when", "param"], `"${param}" is not among ${id}.parameters`);
  const problem = checkValue(spec, equals);
  if (problem) fail([...at, "bypass_when", "equals"], `${JSON.stringify(equals)} can never be sent: ${param} ${problem.message}`);
  for (const [output, input] of Object.entries(optional.reroute)) {
    if (!isLink(node.inputs[input])) {
      fail([...at, "reroute", output], `node "${nodeId}" (${node.class_type}) has no linked input "${input}" to pass through`);
    }
  }
  for (const consumer of consumersOf(graph, nodeId)) {
    if (!Object.hasOwn(optional.reroute, String(consumer.output))) {
      fail(
        [...at, "reroute"],
        `node "${consumer.node}" input "${consumer.input}" uses output ${consumer.output} of node "${nodeId}", which reroute does not cover`,
      );
    }
  }
}

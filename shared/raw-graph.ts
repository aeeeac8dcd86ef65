import type { FieldError } from "./errors.ts";
import { findBrokenLink, isLink, resolveInput } from "./manifest/graph.ts";
import type { Graph } from "./manifest/schema.ts";
import { LOADER_INPUTS } from "./models.ts";

/**
 * What a raw graph (a ComfyUI API-format prompt a client sends itself) may hold. The node
 * count is the operator's (`MAX_GRAPH_NODES`); the rest bound what one input value can cost
 * the edge and the rig beyond the body limit.
 */
export interface RawGraphLimits {
  maxNodes: number;
  /** Characters in any one string (a prompt, a file name, ...). */
  maxStringChars: number;
  /** Nesting of arrays and objects inside one input value. */
  maxDepth: number;
  /** Items of any one array, keys of any one object inside an input value. */
  maxItems: number;
}

export const DEFAULT_RAW_GRAPH_LIMITS: RawGraphLimits = { maxNodes: 500, maxStringChars: 64 * 1024, maxDepth: 8, maxItems: 4096 };

/** ComfyUI's node ids: "5", and "12:5" for a node inside a subgraph. */
export const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_NAME_CHARS = 256;
/** Keys that would reach an object's prototype in code that copies graphs around. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const NODE_FIELDS = new Set(["class_type", "inputs", "_meta"]);
const MAX_ERRORS = 20;
// C0 controls and DEL: never part of a class, input or file name.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Inputs that name a file in ComfyUI's `input/` folder: the rig must have it (or an upload fills it). */
export const IMAGE_FILE_INPUTS: Record<string, string> = { LoadImage: "image", LoadImageMask: "image" };

export type RawGraphCheck = { ok: true; graph: Graph } | { ok: false; errors: FieldError[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Why a file name a graph gives ComfyUI is refused (it must stay inside its folder), or null. */
export function unsafeFileName(name: string): string | null {
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) return "is an absolute path; name a file inside its models or input folder";
  if (name.split(/[/\\]/).includes("..")) return 'has a ".." segment; name a file inside its models or input folder';
  if (CONTROL.test(name)) return "holds control characters";
  return null;
}

/** The first problem of a key inside the graph (node id, input name, object key), or null. */
function badKey(key: string): string | null {
  if (FORBIDDEN_KEYS.has(key)) return `"${key}" is not allowed as a name`;
  if (key.length > MAX_NAME_CHARS) return `names are at most ${MAX_NAME_CHARS} characters`;
  return null;
}

class Collector {
  readonly errors: FieldError[] = [];
  add(path: string, rule: string, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ path, rule, message });
  }
}

/** A literal inside an input value: strings, numbers, booleans, null, and bounded arrays/objects of them. */
function checkLiteral(value: unknown, path: string, depth: number, limits: RawGraphLimits, out: Collector): void {
  if (typeof value === "string") {
    if (value.length > limits.maxStringChars) out.add(path, "max_length", `strings are at most ${limits.maxStringChars} characters (this one has ${value.length})`);
    return;
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) return;
  if (depth >= limits.maxDepth) {
    out.add(path, "max_depth", `input values nest at most ${limits.maxDepth} levels of arrays and objects`);
    return;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
  if (entries.length > limits.maxItems) {
    out.add(path, "max_items", `arrays and objects inside an input hold at most ${limits.maxItems} items (this one has ${entries.length})`);
    return;
  }
  for (const [key, v] of entries) {
    const why = Array.isArray(value) ? null : badKey(key);
    if (why) out.add(`${path}.${key}`, "forbidden", why);
    else checkLiteral(v, `${path}.${key}`, depth + 1, limits, out);
  }
}

function checkNode(id: string, node: unknown, limits: RawGraphLimits, out: Collector): void {
  const at = `graph.${id}`;
  if (!isObject(node)) {
    out.add(at, "type", 'a node is an object {"class_type": "...", "inputs": {...}}');
    return;
  }
  for (const key of Object.keys(node)) {
    if (!NODE_FIELDS.has(key)) out.add(`${at}.${key}`, "unknown", "a node has only class_type, inputs and _meta");
  }
  const cls = node["class_type"];
  if (typeof cls !== "string" || cls.trim() === "") out.add(`${at}.class_type`, cls === undefined ? "required" : "type", "must be the node's class name, a non-empty string");
  else if (FORBIDDEN_KEYS.has(cls)) out.add(`${at}.class_type`, "forbidden", `"${cls}" is not a node class`);
  else if (cls.length > MAX_NAME_CHARS || CONTROL.test(cls)) out.add(`${at}.class_type`, "format", `a class name has at most ${MAX_NAME_CHARS} characters and no control characters`);
  const meta = node["_meta"];
  if (meta !== undefined) {
    if (!isObject(meta)) out.add(`${at}._meta`, "type", 'must be an object like {"title": "..."}');
    else {
      if (meta["title"] !== undefined && typeof meta["title"] !== "string") out.add(`${at}._meta.title`, "type", "must be a string");
      checkLiteral(meta, `${at}._meta`, 1, limits, out);
    }
  }
  const inputs = node["inputs"];
  if (!isObject(inputs)) {
    out.add(`${at}.inputs`, inputs === undefined ? "required" : "type", "must be an object of input names to values or links");
    return;
  }
  for (const [name, value] of Object.entries(inputs)) {
    const path = `${at}.inputs.${name}`;
    const why = badKey(name);
    if (why) out.add(path, "forbidden", why);
    else if (Array.isArray(value)) {
      // ComfyUI reads every array input as a link.
      if (!isLink(value)) out.add(path, "link", 'an array input is a link ["<node id>", <output index>] (the node id a string, the index a whole number ≥ 0)');
    } else checkLiteral(value, path, 1, limits, out);
  }
}

/** The nodes of one cycle through links, if the graph has any (ComfyUI cannot order it). */
export function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, "open" | "done">();
  for (const start of Object.keys(graph)) {
    if (state.has(start)) continue;
    // Iterative depth-first walk along links (consumer → source): 500 nodes deep would strain a recursive one.
    const stack: { id: string; next: string[] }[] = [{ id: start, next: sources(graph, start) }];
    state.set(start, "open");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const src = top.next.pop();
      if (src === undefined) {
        state.set(top.id, "done");
        stack.pop();
        continue;
      }
      const seen = state.get(src);
      if (seen === "open") return [...stack.slice(stack.findIndex((f) => f.id === src)).map((f) => f.id), src];
      if (seen === undefined && Object.hasOwn(graph, src)) {
        state.set(src, "open");
        stack.push({ id: src, next: sources(graph, src) });
      }
    }
  }
  return null;
}

function sources(graph: Graph, id: string): string[] {
  return Object.values(graph[id]!.inputs).filter(isLink).map((link) => link[0]);
}

/** Model and input-image file names that would leave their folder. */
function checkFileNames(graph: Graph, out: Collector): void {
  for (const [id, node] of Object.entries(graph)) {
    const names = { ...(LOADER_INPUTS[node.class_type] ?? {}), ...(Object.hasOwn(IMAGE_FILE_INPUTS, node.class_type) ? { [IMAGE_FILE_INPUTS[node.class_type]!]: "input" } : {}) };
    for (const input of Object.keys(names)) {
      if (!Object.hasOwn(node.inputs, input)) continue;
      const { value, path } = resolveInput(graph, { node: id, input });
      const why = typeof value === "string" ? unsafeFileName(value) : null;
      const last = path[path.length - 1]!;
      if (why) out.add(`graph.${last.node}.inputs.${last.input}`, "path", `the file name "${value}" ${why}`);
    }
  }
}

/**
 * Checks a client's ComfyUI API-format graph: shape (each node an object with a string
 * `class_type` and an object `inputs`, optional `_meta.title`), sane node ids and names, the
 * limits, links that point at nodes the graph has, no cycles, and no model or input file
 * named outside its folder. Every problem names its place (`graph.5.inputs.model`).
 */
export function checkRawGraph(value: unknown, limits: RawGraphLimits = DEFAULT_RAW_GRAPH_LIMITS): RawGraphCheck {
  const out = new Collector();
  if (!isObject(value)) return { ok: false, errors: [{ path: "graph", rule: "type", message: "must be a ComfyUI API-format prompt: an object of node ids to nodes" }] };
  const ids = Object.keys(value);
  if (ids.length === 0) return { ok: false, errors: [{ path: "graph", rule: "min", message: "has no nodes" }] };
  if (ids.length > limits.maxNodes) {
    return { ok: false, errors: [{ path: "graph", rule: "max_nodes", message: `has ${ids.length} nodes; the limit is ${limits.maxNodes} (MAX_GRAPH_NODES)` }] };
  }
  for (const id of ids) {
    if (FORBIDDEN_KEYS.has(id)) out.add(`graph.${id}`, "forbidden", `"${id}" is not allowed as a node id`);
    else if (!NODE_ID.test(id)) out.add(`graph.${id.slice(0, 80)}`, "node_id", "node ids are 1-64 letters, digits, _ . : or -");
    else checkNode(id, value[id], limits, out);
  }
  if (out.errors.length > 0) return { ok: false, errors: out.errors };
  const graph = value as Graph;
  const broken = findBrokenLink(graph);
  if (broken) {
    return { ok: false, errors: [{ path: `graph.${broken.node}.inputs.${broken.input}`, rule: "link", message: `links to node "${broken.source}", which the graph lacks` }] };
  }
  const cycle = findCycle(graph);
  if (cycle) {
    return { ok: false, errors: [{ path: `graph.${cycle[0]}`, rule: "cycle", message: `is part of a cycle of links (${cycle.join(" → ")}); ComfyUI runs only acyclic graphs` }] };
  }
  checkFileNames(graph, out);
  return out.errors.length > 0 ? { ok: false, errors: out.errors } : { ok: true, graph };
}

/** One sentence for a refused graph: the first problem, and how many more the details list. */
export function describeGraphErrors(errors: FieldError[]): string {
  const first = errors[0];
  if (!first) return "The graph is not a valid ComfyUI API-format prompt.";
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? "s" : ""}; see details)` : "";
  return `${first.path}: ${first.message}${more}.`;
}

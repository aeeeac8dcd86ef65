import type { ModelFolders } from "./folders.ts";
import type { InputDef, InputType, NodeClassDef } from "./node-classes.ts";

/** What a class's choice lists depend on: the rig's model folders and its input images. */
export interface ClassEnv {
  readonly folders: ModelFolders;
  inputImages(): string[];
}

export type InputCategory = "required" | "optional";
export interface ClassInput {
  readonly name: string;
  readonly def: InputDef;
  readonly category: InputCategory;
}

const inputCache = new WeakMap<NodeClassDef, ClassInput[]>();

/** Required then optional inputs, in `INPUT_TYPES()` order. */
export function classInputs(def: NodeClassDef): ClassInput[] {
  let list = inputCache.get(def);
  if (!list) {
    list = [
      ...Object.entries(def.required).map(([name, d]) => ({ name, def: d, category: "required" as const })),
      ...Object.entries(def.optional ?? {}).map(([name, d]) => ({ name, def: d, category: "optional" as const })),
    ];
    inputCache.set(def, list);
  }
  return list;
}

function isChoiceList(type: InputType): type is readonly string[] {
  return Array.isArray(type);
}

/** An input's type as ComfyUI has it: a type name, or the list of choices of a combo. */
export function resolveInputType(type: InputType, env: ClassEnv): string | readonly string[] {
  if (typeof type === "string") return type;
  if (isChoiceList(type)) return type;
  if ("inputImages" in type) return env.inputImages();
  const files = type.folders.flatMap((f) => env.folders.files(f) ?? []);
  const sorted = type.folders.length > 1 ? [...new Set(files)].sort() : files;
  return [...(type.prepend ?? []), ...sorted, ...(type.append ?? [])];
}

function inputJson(def: InputDef, env: ClassEnv): unknown[] {
  const type = resolveInputType(def[0], env);
  return def[1] ? [type, def[1]] : [type];
}

function groupJson(group: Readonly<Record<string, InputDef>>, env: ClassEnv): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [name, def] of Object.entries(group)) out[name] = inputJson(def, env);
  return out;
}

/** One class as `GET /object_info` describes it (ComfyUI's `node_info`). */
export function nodeInfo(name: string, def: NodeClassDef, env: ClassEnv): Record<string, unknown> {
  const input: Record<string, unknown> = { required: groupJson(def.required, env) };
  const order: Record<string, string[]> = { required: Object.keys(def.required) };
  if (def.optional) {
    input.optional = groupJson(def.optional, env);
    order.optional = Object.keys(def.optional);
  }
  if (def.hidden) {
    input.hidden = def.hidden;
    order.hidden = Object.keys(def.hidden);
  }
  return {
    input,
    input_order: order,
    output: def.outputs,
    output_is_list: def.outputs.map(() => false),
    output_name: def.outputNames ?? def.outputs,
    name,
    display_name: def.displayName ?? name,
    description: def.description ?? "",
    python_module: def.pythonModule ?? "nodes",
    category: def.category,
    output_node: def.outputNode === true,
  };
}

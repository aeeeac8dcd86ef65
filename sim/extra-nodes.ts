import { type Behaviour, picture, type Picture } from "./node-behaviour.ts";
import type { NodeClassDef } from "./node-classes.ts";

/** The custom node package the extra classes seem to come from (`python_module` in `/object_info`). */
export const EXTRA_NODES_MODULE = "custom_nodes.comfyui-sim-extra-nodes";
const MAX_NAME = 256;

/** A usage mistake in the extra class names (empty, too long, or a class the sim already has). */
export class ExtraNodesError extends Error {
  override readonly name = "ExtraNodesError";
  readonly code = "invalid_extra_nodes";
}

/**
 * Node classes one rig's custom nodes add, so tests can give rigs different catalogs. Each is a
 * simple image op: `image` (IMAGE) and `strength` (FLOAT 0..1) in, IMAGE out; running it marks
 * the picture with the class name, so its output differs from the input's.
 *
 * @throws ExtraNodesError for an empty or over-long name, or one of the sim's own classes
 * @example
 * const extra = extraNodeClasses(["SharpenPlus"]);   // extra.classes.SharpenPlus, extra.behaviours.SharpenPlus
 */
export function extraNodeClasses(
  names: readonly string[],
  builtIn: Readonly<Record<string, NodeClassDef>>,
): { classes: Record<string, NodeClassDef>; behaviours: Record<string, Behaviour> } {
  const classes: Record<string, NodeClassDef> = {};
  const behaviours: Record<string, Behaviour> = {};
  for (const name of names) {
    if (name.trim() === "" || name.length > MAX_NAME) throw new ExtraNodesError(`an extra node class name must be 1 to ${MAX_NAME} characters, got "${name}"`);
    if (Object.hasOwn(builtIn, name)) throw new ExtraNodesError(`"${name}" is one of the sim's own node classes; pick a name it does not have`);
    classes[name] = {
      category: "image/sim extras",
      displayName: name,
      description: `A custom node of this rig only (the sim's --extra-nodes): marks the image with "${name}".`,
      pythonModule: EXTRA_NODES_MODULE,
      required: {
        image: ["IMAGE"],
        strength: ["FLOAT", { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
      },
      outputs: ["IMAGE"],
      outputNames: ["image"],
    };
    behaviours[name] = (inputs) => {
      const pic = picture(inputs.image);
      // A bare descriptor: the mark changes the drawn picture even when the input had real pixels.
      const marked: Picture = { width: pic.width, height: pic.height, batch: pic.batch, key: `${pic.key}|${name}:${String(inputs.strength)}` };
      return { outputs: [marked] };
    };
  }
  return { classes, behaviours };
}

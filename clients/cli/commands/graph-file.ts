import { readFileSync } from "node:fs";
import { CLIError } from "../cli-error.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A ComfyUI API-format graph from a file: ComfyUI's "Export (API)" output, or the body of its
 * own `POST /prompt` (`{"prompt": {...}, "client_id": ...}`), which is unwrapped. The edge
 * checks the nodes themselves and names any problem.
 */
export function readGraphFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : e instanceof Error ? e.message : String(e);
    throw new CLIError(`Cannot read the --graph file ${path}: ${why}.`, "usage");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CLIError(`The --graph file ${path} is not JSON: ${e instanceof Error ? e.message : String(e)}.`, "usage");
  }
  if (!isObject(json)) throw new CLIError(`The --graph file ${path} must hold a JSON object of node ids to nodes (ComfyUI's "Export (API)").`, "usage");
  // A graph's own nodes all have class_type; a /prompt body's fields do not.
  const isPromptBody = isObject(json["prompt"]) && !Object.values(json).some((v) => isObject(v) && "class_type" in v);
  const graph = isPromptBody ? (json["prompt"] as Record<string, unknown>) : json;
  if (Array.isArray(graph["nodes"])) {
    throw new CLIError(`The --graph file ${path} looks like a UI workflow (it has "nodes"); export it with ComfyUI's "Export (API)" instead.`, "usage");
  }
  return graph;
}

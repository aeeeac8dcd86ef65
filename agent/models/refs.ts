import path from "node:path";
import { modelKey, type ModelRef } from "../../shared/models.ts";

export type ModelTarget = {
  /** The model's key (shared/models.ts `modelKey`): the edge keys its fetches the same way. */
  key: string;
  /** Where the verified file goes: `<models dir>/<folder>/<name>`. */
  file: string;
};

const SAFE_FOLDER_PART = /^[A-Za-z0-9_.-]+$/;

/**
 * Where a model from the edge goes, or why it may not go anywhere: a folder and name that could
 * leave the models folder (`..`, an absolute path, a backslash, a hidden file) are refused.
 */
export function modelTarget(modelsDir: string, ref: ModelRef): ModelTarget | { problem: string } {
  const folderParts = ref.folder.split("/");
  if (!folderParts.every((p) => SAFE_FOLDER_PART.test(p) && p !== "." && p !== "..")) {
    return { problem: `folder "${ref.folder}" is not a models subfolder name (letters, digits, _ . -)` };
  }
  const nameParts = ref.name.split("/");
  const badPart = nameParts.find((p) => p === "" || p.startsWith(".") || /[\\\0]/.test(p));
  if (badPart !== undefined || ref.name.endsWith(".part")) {
    return { problem: `file name "${ref.name}" is not a plain relative name (no empty, hidden or .. parts, no \\, not .part)` };
  }
  const file = path.resolve(modelsDir, ...folderParts, ...nameParts);
  // Belt and braces: whatever the checks above missed must still land inside the models folder.
  if (!file.startsWith(path.resolve(modelsDir) + path.sep)) return { problem: `"${modelKey(ref)}" would land outside the models folder` };
  return { key: modelKey(ref), file };
}

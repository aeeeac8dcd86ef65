import { readFile } from "node:fs/promises";
import { ModelsConfigError } from "./errors.ts";
import { parseIni } from "../../shared/model-catalog/ini.ts";
import { toModelSpecs, type ModelSpec } from "../../shared/model-catalog/spec.ts";

/** Parses `models.ini` text into specs; any bad line makes the whole config unusable (all problems listed). */
export function modelSpecsFromText(text: string, source = "models.ini"): ModelSpec[] {
  const ini = parseIni(text);
  const { specs, problems } = toModelSpecs(ini.entries);
  const all = [...ini.problems, ...problems].sort((a, b) => a.line - b.line);
  if (all.length > 0) {
    throw new ModelsConfigError("config_invalid", `${source} has ${all.length} bad line${all.length === 1 ? "" : "s"}:\n${all.map((p) => `  ${p.message}`).join("\n")}`, all);
  }
  return specs;
}

export async function loadModelSpecs(file: string): Promise<ModelSpec[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelsConfigError("config_not_found", `cannot read ${file}${code ? ` (${code})` : ""}; pass --config <file>`);
  }
  return modelSpecsFromText(text, file);
}

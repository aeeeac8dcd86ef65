import { asMapping, parseWith, readYaml, type ManifestFiles } from "./files.ts";
import { formatKey, ManifestError } from "./manifest-error.ts";
import { buildSpec } from "./param-spec.ts";
import { BaseParamSchema, LoraEntrySchema, PARAM_NAME, type BaseParam, type Catalog, type Lora } from "./schema.ts";
import { loadWorkflow } from "./workflow.ts";

export type { ManifestFiles } from "./files.ts";
export { isManifestError, ManifestError } from "./manifest-error.ts";
export type { Catalog, Lora, ParamSpec, Workflow } from "./schema.ts";

function loadLoras(files: ManifestFiles): Record<string, Lora> {
  const file = "loras.yaml";
  if (files[file] === undefined) return {};
  const loras: Record<string, Lora> = {};
  for (const [name, raw] of Object.entries(asMapping(readYaml(files, file), file))) {
    if (name.trim() === "" || name.includes("..")) throw new ManifestError(file, formatKey([name]), "must be a LoRA file name");
    const entry = parseWith(LoraEntrySchema, raw ?? {}, file, [name]);
    loras[name] = {
      name,
      description: entry.description,
      examples: entry.examples,
      ...(entry.prefix !== undefined && { prefix: entry.prefix }),
      ...(entry.suffix !== undefined && { suffix: entry.suffix }),
      ...(entry.family !== undefined && { family: entry.family }),
    };
  }
  return loras;
}

function loadBase(files: ManifestFiles, loras: Record<string, Lora>): Record<string, BaseParam> {
  const file = "base.yaml";
  const base: Record<string, BaseParam> = {};
  for (const [name, raw] of Object.entries(asMapping(readYaml(files, file), file))) {
    if (!PARAM_NAME.test(name)) {
      throw new ManifestError(file, formatKey([name]), "parameter names are a letter or _ then letters, digits or _ (at most 64)");
    }
    const written = parseWith(BaseParamSchema, raw ?? {}, file, [name]);
    const built = buildSpec(name, written, loras);
    if (!built.ok) throw new ManifestError(file, formatKey([name, ...built.key]), built.reason);
    base[name] = written;
  }
  return base;
}

/**
 * Loads and proves the manifests: base.yaml, workflows.yaml, loras.yaml (optional) and
 * the graphs in workflows/. Pure; any mistake throws a ManifestError naming file, key
 * and reason, so nothing wrong in them can surface at request time.
 *
 * @example
 * const catalog = loadCatalog({ "base.yaml": base, "workflows.yaml": wf, "workflows/flux_default.json": graph });
 * catalog.workflows.flux_default.params.steps.max; // 100
 */
export function loadCatalog(files: ManifestFiles): Catalog {
  const loras = loadLoras(files);
  const base = loadBase(files, loras);
  const entries = asMapping(readYaml(files, "workflows.yaml"), "workflows.yaml");
  if (Object.keys(entries).length === 0) throw new ManifestError("workflows.yaml", "(root)", "defines no workflows");
  const workflows: Catalog["workflows"] = {};
  for (const [id, raw] of Object.entries(entries)) {
    workflows[id] = loadWorkflow(id, raw, base, loras, files);
  }
  return { workflows, loras };
}

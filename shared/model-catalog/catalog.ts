import { modelKey, type ModelRef } from "../models.ts";
import { parseIni, type ConfigProblem } from "./ini.ts";
import { toModelSpecs } from "./spec.ts";

/** A model the edge may ask an agent to fetch: where it goes, where it comes from, how it is checked. */
export type CatalogModel = {
  /** The models.ini section: the folder under ComfyUI's models/ the agent saves it in. */
  folder: string;
  name: string;
  url: string;
  sha256: string | null;
  bytes: number | null;
};

export type ModelCatalog = {
  models: readonly CatalogModel[];
  /** The entry for a model a graph names (folder aliases as ComfyUI has them: `text_encoders` is `clip`), or null. */
  find(ref: ModelRef): CatalogModel | null;
};

// `#name = https://...`: a line models.ini keeps commented out so `npm run models` skips it (a
// 12 GB opt-in UNet), which a rig may still fetch when a job asks for it.
const OPT_IN_LINE = /^#\s*[^\s#;=\[][^=]*=\s*https?:\/\//;

/** models.ini text with its opt-in lines (`#_ = https://...`) made live: what may be fetched on demand. */
export function withOptInLines(text: string): string {
  return text
    .split("\n")
    .map((line) => (OPT_IN_LINE.test(line.trim()) ? line.trim().replace(/^#\s*/, "") : line))
    .join("\n");
}


/**
 * The fetchable models of a models.ini text: its live lines and its opt-in (commented) ones. A bad
 * line is a problem and no entry; the rest still count. Where two lines name one file (a folder and
 * its alias), the first wins.
 */
export function modelCatalogFromText(text: string): { catalog: ModelCatalog; problems: ConfigProblem[] } {
  const ini = parseIni(withOptInLines(text));
  const { specs, problems } = toModelSpecs(ini.entries);
  const byKey = new Map<string, CatalogModel>();
  for (const s of specs) {
    const k = modelKey({ folder: s.section, name: s.fileName });
    if (!byKey.has(k)) byKey.set(k, { folder: s.section, name: s.fileName, url: s.url, sha256: s.sha256, bytes: s.bytes });
  }
  const models = [...byKey.values()];
  return {
    catalog: { models, find: (ref) => byKey.get(modelKey(ref)) ?? null },
    problems: [...ini.problems, ...problems].sort((a, b) => a.line - b.line),
  };
}

import { toModelSpecs, type ModelSpec } from "../../shared/model-catalog/spec.ts";
import type { FetchMessage } from "../../shared/protocol.ts";

/**
 * The installer's download spec for a `fetch`: the same rules as a models.ini line
 * `<name> = <url>#sha256=<hex>` under `[<folder>]` (Hugging Face URLs parsed, names checked), so the
 * agent and the installer download alike. A name with subfolders (`sub/x.safetensors`) goes in them.
 */
export function fetchSpec(fetch: Pick<FetchMessage, "model" | "url" | "sha256">): ModelSpec | { problem: string } {
  const { folder, name } = fetch.model;
  const slash = name.lastIndexOf("/");
  const section = slash < 0 ? folder : `${folder}/${name.slice(0, slash)}`;
  const fileName = name.slice(slash + 1);
  const url = new URL(fetch.url);
  // A fragment would read as a models.ini pin; it never reaches the server anyway.
  url.hash = "";
  const value = fetch.sha256 === null ? url.href : `${url.href}#sha256=${fetch.sha256}`;
  const { specs, problems } = toModelSpecs([{ section, key: fileName, value, line: 0 }]);
  const spec = specs[0];
  if (!spec) return { problem: (problems[0]?.message ?? "not a usable model").replace(/^line 0: /, "") };
  // The installer's naming rule adds the URL's extension to a bare name; the edge names the file exactly.
  if (spec.fileName !== fileName) return { problem: `"${name}" lacks the extension of the URL's file (${spec.fileName})` };
  return spec;
}

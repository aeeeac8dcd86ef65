import { isHuggingFaceHost } from "./hosts.ts";
import type { ConfigProblem, IniEntry } from "./ini.ts";

/** One file to download: where it comes from, where it goes, and how it is checked. */
export type ModelSpec = {
  /** Folder under the models directory, from the `[section]`. */
  section: string;
  /** File name on disk (case preserved). */
  fileName: string;
  /** `section/fileName`, always with `/`. */
  relPath: string;
  /** The URL to fetch, without the `#sha256=` pin. */
  url: string;
  /** For Hugging Face URLs: `owner/name` (or `datasets/owner/name`) and the `/resolve/<revision>/`. */
  repo: string | null;
  revision: string | null;
  /** Lowercase hex sha256 pinned in the config, if any. */
  sha256: string | null;
  /** The file's size in bytes (`&size=` after the pin, or `#size=`), if the config says. */
  bytes: number | null;
  line: number;
};

export type SpecResult = { specs: ModelSpec[]; problems: ConfigProblem[] };

/** The key that means "keep the file name from the URL". */
export const ORIGINAL_NAME_KEY = "_";

const PIN = /^sha256=([0-9a-fA-F]{64})$/;
const SIZE = /^size=([1-9][0-9]{0,15})$/;

/**
 * Turns parsed INI entries into download specs, following the original's naming rules with
 * its bugs fixed: `_` keeps the URL's file name, `name` saves as `name` + the URL's extension,
 * case is preserved, and `#sha256=<hex>` pins the content.
 */
export function toModelSpecs(entries: readonly IniEntry[]): SpecResult {
  const specs: ModelSpec[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();

  for (const entry of entries) {
    const spec = toModelSpec(entry);
    if ("problem" in spec) {
      problems.push(spec.problem);
      continue;
    }
    const earlier = seen.get(spec.relPath);
    if (earlier !== undefined) {
      problems.push({
        line: entry.line,
        code: "duplicate_target",
        message: `line ${entry.line}: writes ${spec.relPath}, which line ${earlier} already writes; give one of them another name`,
      });
      continue;
    }
    seen.set(spec.relPath, entry.line);
    specs.push(spec);
  }
  return { specs, problems };
}

function toModelSpec(entry: IniEntry): ModelSpec | { problem: ConfigProblem } {
  const { line } = entry;
  const fail = (code: ConfigProblem["code"], message: string) => ({ problem: { line, code, message: `line ${line}: ${message}` } });

  const hashAt = entry.value.indexOf("#");
  const urlText = hashAt < 0 ? entry.value : entry.value.slice(0, hashAt).trim();
  const pins = hashAt < 0 ? { sha256: null, bytes: null } : readPins(entry.value.slice(hashAt + 1).trim());
  if ("error" in pins) return fail("bad_pin", pins.error);
  const { sha256, bytes } = pins;

  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return fail("bad_url", `"${urlText}" is not a URL; expected https://huggingface.co/<owner>/<repo>/resolve/<revision>/<file>`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return fail("bad_url", `unsupported URL scheme "${url.protocol}"; use an https:// download link`);
  }

  let repo: string | null = null;
  let revision: string | null = null;
  const host = url.hostname.toLowerCase();
  if (isHuggingFaceHost(host) && (host === "huggingface.co" || host === "hf.co")) {
    const hub = parseHubPath(url.pathname);
    if ("error" in hub) return fail("bad_url", hub.error);
    repo = hub.repo;
    revision = hub.revision;
  }

  const original = lastSegment(url.pathname);
  if (original === null) return fail("bad_url", `cannot tell a file name from "${urlText}"; the URL must end with the file, e.g. .../model.safetensors`);

  const fileName = entry.key === ORIGINAL_NAME_KEY ? original : withExtensionOf(entry.key, original);
  const nameProblem = checkFileName(fileName);
  if (nameProblem) return fail("bad_name", `"${entry.key}": ${nameProblem}`);

  return {
    section: entry.section,
    fileName,
    relPath: `${entry.section}/${fileName}`,
    url: url.href,
    repo,
    revision,
    sha256,
    bytes,
    line,
  };
}

/** `sha256=<hex>`, `size=<bytes>`, or both joined by `&`, each at most once. */
function readPins(text: string): { sha256: string | null; bytes: number | null } | { error: string } {
  let sha256: string | null = null;
  let bytes: number | null = null;
  const usage = "the forms are #sha256=<64 hex digits>, #size=<bytes> and #sha256=<64 hex digits>&size=<bytes>";
  for (const part of text.split("&").map((p) => p.trim())) {
    const pin = PIN.exec(part);
    const size = SIZE.exec(part);
    if (pin && sha256 === null) sha256 = (pin[1] ?? "").toLowerCase();
    else if (size && bytes === null && Number.isSafeInteger(Number(size[1]))) bytes = Number(size[1]);
    else return { error: `unknown pin "#${text}"; ${usage}` };
  }
  return { sha256, bytes };
}

/** `/<repo...>/resolve/<revision>/<path...>` on the Hub; `/blob/` is the web page, a common slip. */
function parseHubPath(pathname: string): { repo: string; revision: string } | { error: string } {
  const parts = pathname.split("/").filter((part) => part !== "");
  const at = parts.indexOf("resolve");
  if (at >= 1 && parts.length >= at + 3) {
    const revision = safeDecode(parts[at + 1] ?? "");
    if (revision === null || revision === "") return { error: `bad revision in "${pathname}"` };
    return { repo: parts.slice(0, at).join("/"), revision };
  }
  if (parts.includes("blob")) {
    return { error: `"${pathname}" is a Hugging Face web page (/blob/); use the download link: replace /blob/ with /resolve/` };
  }
  return { error: `unknown Hugging Face URL form "${pathname}"; expected /<owner>/<repo>/resolve/<revision>/<file>` };
}

function lastSegment(pathname: string): string | null {
  const raw = pathname.split("/").pop() ?? "";
  const decoded = safeDecode(raw);
  return decoded === null || decoded === "" ? null : decoded;
}

/** `clip_l` + `model.safetensors` → `clip_l.safetensors`; a key already carrying that extension is kept. */
function withExtensionOf(key: string, original: string): string {
  const dot = original.lastIndexOf(".");
  const ext = dot > 0 ? original.slice(dot) : "";
  return ext === "" || key.endsWith(ext) ? key : `${key}${ext}`;
}

function checkFileName(name: string): string | null {
  if (/[/\\\0]/.test(name)) return "a file name cannot contain / or \\";
  if (name === "." || name === ".." || name.startsWith(".")) return "a file name cannot start with a dot";
  if (name.endsWith(".part")) return "names ending in .part are reserved for downloads in progress";
  return null;
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

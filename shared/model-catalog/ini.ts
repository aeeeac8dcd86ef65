/**
 * A deliberately small INI reader for `models.ini`.
 *
 * Generic INI libraries (and Python's configparser, which the original used) lowercase keys
 * and keep only the last of repeated keys; `models.ini` relies on case-preserving names and
 * on many `_ = <url>` lines per section, so every line is kept, in order, with its number.
 */

/** One `key = value` line, exactly as written (trimmed), with the section it sits under. */
export type IniEntry = {
  section: string;
  key: string;
  value: string;
  line: number;
};

/** A problem with one line of a config file; `line` is 1-based. */
export type ConfigProblem = {
  line: number;
  code: "key_outside_section" | "bad_section" | "bad_line" | "empty_key" | "empty_value" | "bad_url" | "bad_name" | "bad_pin" | "duplicate_target";
  message: string;
};

export type IniParseResult = {
  entries: IniEntry[];
  problems: ConfigProblem[];
};

const SECTION = /^\[(.*)\]$/;
// A section becomes a folder under ComfyUI/models; nested folders (e.g. `ultralytics/bbox`) are fine.
const SAFE_SECTION = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/**
 * Parses `models.ini` text: `[section]` headers, `key = value` lines, `#`/`;` comment lines.
 * Every problem is reported with its line number; entries from good lines are still returned.
 *
 * @example
 * parseIni("[vae]\n_ = https://huggingface.co/o/r/resolve/main/ae.safetensors").entries
 * // [{ section: "vae", key: "_", value: "https://...", line: 2 }]
 */
export function parseIni(text: string): IniParseResult {
  const entries: IniEntry[] = [];
  const problems: ConfigProblem[] = [];
  let section: string | null = null;
  // Lines under a rejected header are covered by that header's problem; they are not reported again.
  let underBadSection = false;

  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trim();
    if (text === "" || text.startsWith("#") || text.startsWith(";")) return;

    const header = SECTION.exec(text);
    if (header) {
      const name = (header[1] ?? "").trim();
      if (!SAFE_SECTION.test(name) || name.split("/").some((part) => part === "." || part === "..")) {
        problems.push({
          line,
          code: "bad_section",
          message: `line ${line}: section [${name}] is not a usable folder name under ComfyUI/models (letters, digits, _ . - and / only, no ..)`,
        });
        section = null;
        underBadSection = true;
        return;
      }
      section = name;
      underBadSection = false;
      return;
    }

    if (underBadSection) return;
    const eq = text.indexOf("=");
    if (eq < 0) {
      problems.push({ line, code: "bad_line", message: `line ${line}: expected "[section]", "name = <url>" or a # comment, got "${clip(text)}"` });
      return;
    }
    const key = text.slice(0, eq).trim();
    const value = text.slice(eq + 1).trim();
    if (section === null) {
      problems.push({
        line,
        code: "key_outside_section",
        message: `line ${line}: "${clip(key)} = ..." is outside any [section]; add a header above it, e.g. [loras] (the folder under ComfyUI/models)`,
      });
      return;
    }
    if (key === "") {
      problems.push({ line, code: "empty_key", message: `line ${line}: missing name before "="; use "_" to keep the file's original name` });
      return;
    }
    if (value === "") {
      problems.push({ line, code: "empty_value", message: `line ${line}: "${clip(key)} =" has no URL` });
      return;
    }
    entries.push({ section, key, value, line });
  });

  return { entries, problems };
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

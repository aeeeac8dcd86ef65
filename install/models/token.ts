import { readFileSync } from "node:fs";
import path from "node:path";

const NAMES = ["HUGGINGFACE_TOKEN", "HF_TOKEN"] as const;
// The original's .env.example shipped this value; sending it gets a 401 even for public files.
const PLACEHOLDER = "hf_YOUR_TOKEN_HERE";

/**
 * The Hugging Face token: `HUGGINGFACE_TOKEN` (or the Hub's own `HF_TOKEN`) from the
 * environment, else from `.env` in `cwd`. Empty or the example placeholder counts as none.
 */
export function findHuggingFaceToken(env: Readonly<Record<string, string | undefined>>, cwd: string): string | null {
  for (const name of NAMES) {
    const value = usable(env[name]);
    if (value !== null) return value;
  }
  const dotenv = readDotenv(path.join(cwd, ".env"));
  for (const name of NAMES) {
    const value = usable(dotenv.get(name));
    if (value !== null) return value;
  }
  return null;
}

function usable(value: string | undefined): string | null {
  const trimmed = value?.trim() ?? "";
  return trimmed === "" || trimmed === PLACEHOLDER ? null : trimmed;
}

/** `KEY=value`, `export KEY="value"`, `# comments`: the subset a `.env` beside the installer uses. */
export function parseDotenv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!match?.[1]) continue;
    let value = match[2] ?? "";
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, "");
    values.set(match[1], value);
  }
  return values;
}

function readDotenv(file: string): Map<string, string> {
  try {
    return parseDotenv(readFileSync(file, "utf8"));
  } catch {
    return new Map();
  }
}

/**
 * The local service's three API keys. Each comes from its environment variable when set;
 * otherwise it is generated once and stored in the state folder, so a restart keeps the keys
 * (the playground's saved key, a shell's $KEY) along with the jobs.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { EdgeKeys } from "./edge.ts";

export const KEYS_FILE = "local-keys.json";

const ROLES = [
  { role: "client", env: "COMFY_EDGE_API_KEY", prefix: "ce_client" },
  { role: "agent", env: "COMFY_EDGE_AGENT_KEY", prefix: "ce_agent" },
  { role: "admin", env: "COMFY_EDGE_ADMIN_KEY", prefix: "ce_admin" },
] as const;
type Role = (typeof ROLES)[number]["role"];

const StoredKeysSchema = z.object({ client: z.string().min(16), agent: z.string().min(16), admin: z.string().min(16) });

/** Where one key came from: its environment variable, or the stored file (`generated` on the run that made it). */
export type KeySource = { from: "env"; name: string } | { from: "stored" | "generated"; path: string };

export interface LocalKeys extends EdgeKeys {
  sources: Record<Role, KeySource>;
}

function readStored(path: string): z.infer<typeof StoredKeysSchema> | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const parsed = StoredKeysSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a valid keys file (${parsed.error.issues[0]?.message}); delete it to generate new keys`);
  return parsed.data;
}

/**
 * The keys for a state folder. Environment values win and are never written; the stored
 * file always holds a generated key for every role, so unsetting a variable falls back to a
 * key that stays the same.
 */
export function localKeys(stateDir: string, env: NodeJS.ProcessEnv = process.env): LocalKeys {
  const path = join(stateDir, KEYS_FILE);
  let stored = readStored(path);
  const fresh = stored === null;
  if (stored === null) {
    const gen = (prefix: string) => `${prefix}_${randomBytes(18).toString("base64url")}`;
    stored = { client: gen("ce_client"), agent: gen("ce_agent"), admin: gen("ce_admin") };
    mkdirSync(stateDir, { recursive: true });
    // Keys are secrets: readable by their owner only.
    writeFileSync(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  const keys = { client: "", agent: "", admin: "" } as EdgeKeys;
  const sources = {} as Record<Role, KeySource>;
  for (const { role, env: name } of ROLES) {
    const fromEnv = env[name];
    if (fromEnv) {
      if (fromEnv.length < 16) throw new Error(`${name} must be at least 16 characters`);
      keys[role] = fromEnv;
      sources[role] = { from: "env", name };
    } else {
      keys[role] = stored[role];
      sources[role] = { from: fresh ? "generated" : "stored", path };
    }
  }
  return { ...keys, sources };
}

/** The banner's note on one key: `(from COMFY_EDGE_API_KEY)` or `(generated, stored in …)`. */
export function describeSource(source: KeySource): string {
  if (source.from === "env") return `from ${source.name}`;
  return source.from === "generated" ? `generated, stored in ${source.path}` : `stored in ${source.path}`;
}

import { z } from "zod";

export const ROLES = ["client", "agent", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** One API key as the `API_KEYS` secret lists it: the key itself or only its SHA-256. */
const KeyEntrySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (1-64)"),
    role: z.enum(ROLES),
    key: z.string().min(16).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /** May submit raw ComfyUI graphs (`graph` on a submit); admin keys always may. */
    raw: z.boolean().optional(),
  })
  .refine((k) => Boolean(k.key) !== Boolean(k.sha256), "give exactly one of `key` or `sha256`");

const KeysSchema = z.array(KeyEntrySchema).min(1);

export interface Principal {
  /** Stable owner id of jobs; the key's name, so a rotated key keeps its jobs. */
  name: string;
  role: Role;
  /** The key's `"raw": true`: it may submit raw graphs. */
  raw?: boolean;
}

interface StoredKey extends Principal {
  hash: Uint8Array;
}

const encoder = new TextEncoder();

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** SHA-256 of the text as lowercase hex (graph digests, idempotency hashes, node catalogs). */
export async function sha256Hex(text: string): Promise<string> {
  return bytesToHex(await sha256(text));
}

/** Bytes as lowercase hex, two characters each. */
export function bytesToHex(bytes: ArrayBuffer | Uint8Array): string {
  return [...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

let cache: { source: string; keys: Promise<StoredKey[]> } | undefined;

/** Parses `API_KEYS` (JSON array) once per isolate, hashing any raw keys. */
export function loadKeys(source: string): Promise<StoredKey[]> {
  if (cache?.source === source) return cache.keys;
  const keys = (async () => {
    let json: unknown;
    try {
      json = JSON.parse(source);
    } catch {
      throw new Error("API_KEYS is not valid JSON: expected [{\"name\",\"role\",\"key\"|\"sha256\"}]");
    }
    const parsed = KeysSchema.safeParse(json);
    if (!parsed.success) {
      throw new Error(`API_KEYS is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    return Promise.all(
      parsed.data.map(async (k) => ({ name: k.name, role: k.role, raw: k.raw === true, hash: k.key ? await sha256(k.key) : hexToBytes(k.sha256!) })),
    );
  })();
  cache = { source, keys };
  return keys;
}

/** Finds the key whose hash matches, comparing every stored hash in constant time. */
export async function authenticate(source: string, presented: string): Promise<Principal | null> {
  const keys = await loadKeys(source);
  const hash = await sha256(presented);
  let found: Principal | null = null;
  for (const k of keys) {
    // No early exit: the time taken does not depend on which key (if any) matched.
    if (crypto.subtle.timingSafeEqual(k.hash, hash) && !found) found = { name: k.name, role: k.role, raw: k.raw };
  }
  return found;
}

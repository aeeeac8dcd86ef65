import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The agent's id, stable across restarts for a given name: read from
 * `<stateDir>/agent-<name>.id`, or made and written there. An unwritable state dir
 * yields a fresh random id (the edge then sees a new agent after each restart).
 */
export async function loadAgentId(stateDir: string, name: string): Promise<{ id: string; persisted: boolean }> {
  const file = join(stateDir, `agent-${name.replace(/[^A-Za-z0-9._-]+/g, "_")}.id`);
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (/^[A-Za-z0-9_-]{1,128}$/.test(existing)) return { id: existing, persisted: true };
  } catch {
    // none yet
  }
  const id = `agt_${randomUUID()}`;
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(file, `${id}\n`, { flag: "w" });
    return { id, persisted: true };
  } catch {
    return { id, persisted: false };
  }
}

/** The package version the agent reports in `hello`. */
export async function agentVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version.slice(0, 64) : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

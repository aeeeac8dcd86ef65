import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gitMaybe } from "./git.ts";
import { lastLines, run } from "./run.ts";

export type RequirementsResult = "none" | "installed" | "already_installed" | "skipped";

export class PipError extends Error {
  override readonly name = "PipError";
  readonly code = "pip_failed";
}

/**
 * `<python> -m pip install -r requirements.txt` when the node has one. A marker in the
 * checkout's git dir (so the work tree stays clean) remembers the file's hash and the
 * interpreter, so a re-run with nothing changed does not call pip again.
 */
export async function installRequirements(checkout: string, python: string, skip: boolean): Promise<RequirementsResult> {
  const file = path.join(checkout, "requirements.txt");
  if (!existsSync(file)) return "none";
  if (skip) return "skipped";

  const stamp = `${createHash("sha256").update(await readFile(file)).digest("hex")} ${python}\n`;
  const gitDir = await gitMaybe(checkout, ["rev-parse", "--absolute-git-dir"]);
  const marker = gitDir === null ? null : path.join(gitDir, "comfy-edge-requirements");
  if (marker !== null && (await readFile(marker, "utf8").catch(() => "")) === stamp) return "already_installed";

  const result = await run(python, ["-m", "pip", "install", "--disable-pip-version-check", "-r", "requirements.txt"], { cwd: checkout });
  if (result.code !== 0) {
    const hint = result.code === 127 ? `python not found at ${python}: create the venv first (install.sh) or pass --python` : lastLines(result.output);
    throw new PipError(`pip install -r requirements.txt failed: ${hint}`);
  }
  if (marker !== null) await writeFile(marker, stamp);
  return "installed";
}

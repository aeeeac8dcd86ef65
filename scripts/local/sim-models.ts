import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_INVENTORY, seedModelFiles } from "../../sim/folders.ts";

/**
 * The stand-in ComfyUI's models folder for `npm start`: `<state>/sim-models`, laid out as ComfyUI's
 * `models/` (checkpoints/, unet/, loras/, ...). Made with small placeholder files for the
 * project's workflows only when the folder does not exist yet, so files the user (or the agent,
 * fetching on demand) put there, and any deletion, survive restarts.
 */
export function prepareSimModels(stateDir: string): { dir: string; created: boolean } {
  const dir = join(stateDir, "sim-models");
  if (existsSync(dir)) return { dir, created: false };
  seedModelFiles(dir, DEFAULT_INVENTORY);
  return { dir, created: true };
}

import { stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { AgentConfig } from "../config.ts";
import { recordsFile } from "./records.ts";
import { ModelStore } from "./store.ts";

/**
 * ComfyUI's models folder: `--models-dir`, else `<base>/models` of the ComfyUI `--launch` starts
 * (its `--base-directory` honoured) or of `--comfy-dir`; null when none is known.
 */
export function modelsDirOf(config: Pick<AgentConfig, "modelsDir" | "launch" | "comfyDir">): string | null {
  if (config.modelsDir) return path.resolve(config.modelsDir);
  if (config.launch) {
    const { dir, args } = config.launch;
    let base: string | null = null;
    for (const [i, arg] of args.entries()) {
      if (arg === "--base-directory" && i + 1 < args.length) base = args[i + 1] as string;
      else if (arg.startsWith("--base-directory=")) base = arg.slice("--base-directory=".length);
    }
    return path.resolve(dir, base ?? ".", "models");
  }
  return config.comfyDir ? path.resolve(config.comfyDir, "models") : null;
}

/**
 * The agent's store of fetched models, or null (with a word why) when it cannot fetch: no models
 * folder known, or the one named is not there.
 */
export async function openModelStore(config: AgentConfig, log: Logger): Promise<ModelStore | null> {
  const modelsDir = modelsDirOf(config);
  if (modelsDir === null) {
    log.info("no models folder known (--models-dir or --comfy-dir): this agent does not fetch models on demand");
    return null;
  }
  const isDir = await stat(modelsDir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    log.warn({ models_dir: modelsDir }, "the models folder does not exist: this agent does not fetch models on demand (check --models-dir)");
    return null;
  }
  const store = await ModelStore.open({
    modelsDir,
    recordsFile: recordsFile(config.stateDir, config.name),
    budgetBytes: config.modelsCacheBytes,
    pinned: config.pinModels,
    log: log.child({ component: "models" }),
  });
  const facts = await store.facts();
  log.info({ models_dir: modelsDir, budget_bytes: facts.budget_bytes, fetched: facts.fetched.length, free_bytes: facts.free_bytes }, "models the edge asks for are fetched into the models folder");
  return store;
}

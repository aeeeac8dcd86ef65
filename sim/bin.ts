#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { InventorySchema } from "./folders.ts";
import { ExtraNodesError, PREVIEW_METHODS, type PreviewMethod, type SimOptions, startSim } from "./server.ts";

const USAGE = `Usage: node sim/bin.ts [options]
  --port <n>          port to listen on (default 8188; 0 lets the OS pick)
  --host <addr>       address to bind (default 127.0.0.1)
  --step-ms <n>       milliseconds per sampler step (default 50)
  --preview-method <m> none (default, as ComfyUI), auto, latent2rgb or taesd: binary previews per step
  --models <file>     JSON {folder: [file names]}: the rig's model inventory, written as small placeholder
                      files into the models folder (only those missing)
  --models-dir <dir>  ComfyUI's models/ folder on disk (checkpoints/, unet/, loras/, ...): the inventory is
                      what is there, rescanned when a folder changes (default: a temp folder holding the
                      project's default inventory, removed on exit)
  --extra-nodes <a,b> node classes this rig's custom nodes add (comma-separated): each an image op
                      (image, strength -> IMAGE) listed in /object_info that runs
  --error-rate <p>    probability (0..1) a prompt fails with execution_error
  --crash-rate <p>    probability the sim dies mid-run and restarts
  --hang-rate <p>     probability the sampler stalls until interrupted
  --slow-rate <p>     probability sampler steps run slow
  --seed <n>          seed of the fault RNG
  --ignore-prompt-ids assign every prompt a uuid, ignoring a client-chosen prompt_id (as older builds and some proxies)`;

/** A usage mistake: printed with the usage, exit code 2. */
class CliError extends Error {
  override readonly name = "CliError";
}

function number(name: string, raw: string | undefined, fallback?: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new CliError(`--${name} must be a number, got "${raw}"`);
  return n;
}

function readInventory(file: string): Record<string, string[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new CliError(`--models ${file}: cannot read JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = InventorySchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`--models ${file}: expected {"folder": ["file", ...]}\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function extraNodes(raw: string): string[] {
  const names = raw.split(",").map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 0) throw new CliError(`--extra-nodes needs class names separated by commas, got "${raw}"`);
  return names;
}

function previewMethod(raw: string | undefined): PreviewMethod {
  if (raw === undefined) return "none";
  if (!(PREVIEW_METHODS as readonly string[]).includes(raw)) throw new CliError(`--preview-method must be one of ${PREVIEW_METHODS.join(", ")}, got "${raw}"`);
  return raw as PreviewMethod;
}

function options(argv: string[]): SimOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" }, host: { type: "string" }, "step-ms": { type: "string" }, "preview-method": { type: "string" }, models: { type: "string" }, "models-dir": { type: "string" }, "extra-nodes": { type: "string" },
      "error-rate": { type: "string" }, "crash-rate": { type: "string" }, "hang-rate": { type: "string" },
      "slow-rate": { type: "string" }, seed: { type: "string" }, "ignore-prompt-ids": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const faults = {
    errorRate: number("error-rate", values["error-rate"]),
    crashRate: number("crash-rate", values["crash-rate"]),
    hangRate: number("hang-rate", values["hang-rate"]),
    slowRate: number("slow-rate", values["slow-rate"]),
    seed: number("seed", values.seed),
  };
  for (const [k, v] of Object.entries(faults)) {
    if (k !== "seed" && v !== undefined && (v < 0 || v > 1)) throw new CliError(`--${k.replace(/Rate$/, "-rate")} must be between 0 and 1, got ${v}`);
  }
  return {
    port: number("port", values.port, 8188),
    host: values.host ?? "127.0.0.1",
    stepMs: number("step-ms", values["step-ms"], 50),
    previewMethod: previewMethod(values["preview-method"]),
    faults: Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined)),
    ...(values.models ? { inventory: readInventory(values.models) } : {}),
    ...(values["models-dir"] ? { modelsDir: values["models-dir"] } : {}),
    ...(values["extra-nodes"] !== undefined ? { extraNodes: extraNodes(values["extra-nodes"]) } : {}),
    ...(values["ignore-prompt-ids"] ? { ignorePromptIds: true } : {}),
  };
}

async function main(): Promise<void> {
  let opts: SimOptions;
  try {
    opts = options(process.argv.slice(2));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    process.exit(2);
  }
  let sim: Awaited<ReturnType<typeof startSim>>;
  try {
    sim = await startSim(opts);
  } catch (e) {
    if (!(e instanceof ExtraNodesError)) throw e;
    console.error(`--extra-nodes: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.log(`sim listening on ${sim.url}`);
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((e: unknown) => {
  console.error(`sim: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

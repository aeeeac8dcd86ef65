import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Where `npm run build:agent` writes the agent: one file, what rigs run. */
export const AGENT_BUNDLE = join(root, "dist/comfy-agent.mjs");

/**
 * The Node flags rigs run the bundle with (install/systemd's ExecStart carries the same). The
 * daemon is I/O-bound with little hot code: a 1 MiB young generation and no TurboFan tier
 * (Maglev still optimises) cut its resident memory by ~15 MiB at the same CPU per job.
 */
export const AGENT_NODE_FLAGS = ["--max-semi-space-size=1", "--no-opt"];

/**
 * Bundles the agent into AGENT_BUNDLE: no TypeScript stripping at start and fewer modules
 * resident, which cuts the daemon's memory by a third. The file is replaced atomically, so
 * agents starting at the same time (each unit rebuilds first) never read half a bundle.
 */
export async function buildAgentBundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(root, "agent/bin.ts")],
    outfile: AGENT_BUNDLE,
    write: false,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "error",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error("esbuild produced no agent bundle");
  mkdirSync(dirname(AGENT_BUNDLE), { recursive: true });
  const partial = `${AGENT_BUNDLE}.${process.pid}.tmp`;
  writeFileSync(partial, file.contents);
  renameSync(partial, AGENT_BUNDLE);
  return AGENT_BUNDLE;
}

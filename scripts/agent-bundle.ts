import { build } from "esbuild";
import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
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

/** Where `npm run build:bins` (and `prepare`, so npm ci / npm install / npm link) writes the terminal client. */
export const CLI_BUNDLE = join(root, "dist/comfy-gen.mjs");

/**
 * The oldest Node the bundles run on. The project itself runs on the Node 22 it pins, but the
 * commands `npm link` installs run on whatever `node` is on the PATH (the system's, often 20).
 */
export const BIN_NODE_TARGET = "node20";

/**
 * Bundles the agent into AGENT_BUNDLE: no TypeScript stripping at start and fewer modules
 * resident, which cuts the daemon's memory by a third. The file is replaced atomically, so
 * agents starting at the same time (each unit rebuilds first) never read half a bundle.
 */
export async function buildAgentBundle(outfile = AGENT_BUNDLE): Promise<string> {
  return bundleNodeBin("agent/bin.ts", outfile);
}

/** Bundles comfy-gen (clients/cli/bin.ts) into one JavaScript file that runs on Node 20 and later. */
export async function buildCliBundle(outfile = CLI_BUNDLE): Promise<string> {
  return bundleNodeBin("clients/cli/bin.ts", outfile);
}

/** One executable ES module from a TypeScript entry (its `#!/usr/bin/env node` line kept), written atomically. */
async function bundleNodeBin(entry: string, outfile: string): Promise<string> {
  const result = await build({
    entryPoints: [join(root, entry)],
    outfile,
    write: false,
    bundle: true,
    platform: "node",
    format: "esm",
    target: BIN_NODE_TARGET,
    // Bundled CommonJS dependencies call require() for Node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "error",
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced no bundle for ${entry}`);
  mkdirSync(dirname(outfile), { recursive: true });
  const partial = `${outfile}.${process.pid}.tmp`;
  writeFileSync(partial, file.contents);
  chmodSync(partial, 0o755);
  renameSync(partial, outfile);
  return outfile;
}

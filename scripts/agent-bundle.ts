import { build, type BuildOptions, type Plugin } from "esbuild";
import { constants as http2Constants } from "node:http2";
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
 * The old generation is what grows: its next full GC comes at the live heap (~13 MiB) + 8 MiB,
 * and in a busy stretch the agent's promoted garbage climbs to that limit. Two things lower it:
 * `--optimize-for-size` (full GCs compact and release pages, and start early when the process
 * idles) and dropping the bytecode and baseline code of functions that did not run since the last
 * full GC (`--bytecode-old-age=1 --flush-baseline-code`: start-up and CLI code, recompiled if ever
 * called again), which lowers the live heap and with it the limit. Bench, 1,000 jobs: peak RSS
 * −3 to −6 MiB and −1.3 MiB, no measurable CPU per job. All of these exist on Node 20 and 22.
 */
export const AGENT_NODE_FLAGS = ["--max-semi-space-size=1", "--no-opt", "--optimize-for-size", "--bytecode-old-age=1", "--flush-baseline-code"];

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
 *
 * V8 keeps the whole source of a script in its heap for as long as any function in it may still
 * be compiled (lazily, on first call), and keeps it at two bytes a character if a single one is
 * not Latin-1. Comments (dependencies' "—", a contributor's "ä") made the 1.8 MB bundle a 3.6 MB
 * string. Without whitespace and comments it is 1.3 MB of ASCII (esbuild escapes the rest), the
 * licence comments go to `<bundle>.LEGAL.txt` beside it: peak RSS −2 to −3 MiB. Names are kept
 * (identifiers are not minified), so stack traces still name their functions; only the
 * line:column positions are of the one-line file.
 */
export async function buildAgentBundle(outfile = AGENT_BUNDLE): Promise<string> {
  return bundleNodeBin("agent/bin.ts", outfile, { minifyWhitespace: true, legalComments: "linked", plugins: [leanUndici, http2OnDemand, zodInEnglish] });
}

/** `import … from "undici"` anywhere in the agent means scripts/agent-undici.ts: its HTTP client without fetch, WebSocket, caches, mocks. */
export const leanUndici: Plugin = {
  name: "lean-undici",
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, "scripts/agent-undici.ts") }));
  },
};

/**
 * undici's HTTP/2 client requires `node:http2` on load for its header constants, though it only
 * speaks HTTP/2 when a dispatcher is built with `allowH2` (the agent's never are). Loading that
 * module initialises nghttp2 and its shared buffers: +2.3 MiB of RSS beside TLS (Node 22). Here
 * undici gets the same constants, copied at build time from this Node, and a `connect` that
 * loads the real module on first use.
 */
const http2OnDemand: Plugin = {
  name: "http2-on-demand",
  setup(build) {
    build.onResolve({ filter: /^(node:)?http2$/ }, (args) =>
      /[\\/]node_modules[\\/]undici[\\/]/.test(args.importer) ? { path: "http2", namespace: "http2-on-demand" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "http2-on-demand" }, () => ({
      contents: `module.exports = { constants: ${JSON.stringify(http2Constants)}, connect: (...args) => require("node:http2").connect(...args) };`,
      loader: "js",
    }));
  },
};

/**
 * zod's `locales` namespace with English only, the locale zod sets itself and the only one the
 * agent's messages use: the other 40-odd were a fifth of the bundle (300 KB), and parsing them
 * at start cost ~3 MiB of peak RSS (Node 22, `--help`: 68.3 → 65.3 MiB).
 */
const zodInEnglish: Plugin = {
  name: "zod-in-english",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: "zod-locales", namespace: "zod-in-english" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-in-english" }, () => ({
      contents: `export { default as en } from "zod/v4/locales/en.js";`,
      resolveDir: root,
      loader: "js",
    }));
  },
};

/** Bundles comfy-gen (clients/cli/bin.ts) into one JavaScript file that runs on Node 20 and later. */
export async function buildCliBundle(outfile = CLI_BUNDLE): Promise<string> {
  return bundleNodeBin("clients/cli/bin.ts", outfile);
}

/** What a bundle may set beyond the defaults (how compact its source is, where licence comments go, aliases). */
type BundleOptions = Pick<BuildOptions, "minifyWhitespace" | "legalComments" | "plugins">;

/**
 * One executable ES module from a TypeScript entry (its `#!/usr/bin/env node` line kept), written
 * atomically; with `legalComments: "linked"`, the licence file it names is written first.
 */
async function bundleNodeBin(entry: string, outfile: string, options: BundleOptions = {}): Promise<string> {
  const result = await build({
    ...options,
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
  const file = result.outputFiles.find((f) => f.path === resolve(outfile));
  if (!file) throw new Error(`esbuild produced no bundle for ${entry}`);
  mkdirSync(dirname(outfile), { recursive: true });
  for (const other of result.outputFiles) if (other !== file) replaceFile(other.path, other.contents, 0o644);
  replaceFile(outfile, file.contents, 0o755);
  return outfile;
}

function replaceFile(path: string, contents: Uint8Array, mode: number): void {
  const partial = `${path}.${process.pid}.tmp`;
  writeFileSync(partial, contents);
  chmodSync(partial, mode);
  renameSync(partial, path);
}

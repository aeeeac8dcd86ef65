/**
 * Builds the edge's static assets (Workers Static Assets) from web/: the playground (its
 * TypeScript bundled into one ES module, its page and stylesheet) and the API reference page
 * with Swagger UI from the pinned swagger-ui-dist package. No CDN: everything is same-origin.
 * Run before the Worker is bundled: by wrangler's build step, the test config and the local runner.
 */
import { buildSync } from "esbuild";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** wrangler.toml's [assets] directory (a test keeps the two equal). */
export const ASSETS_DIR = join(root, "edge/generated/assets");
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** One browser script from a TypeScript entry; refuses runtime imports from node_modules (the pages stay dependency-free). */
function bundleScript(entry: string): Uint8Array {
  const result = buildSync({
    entryPoints: [join(root, entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const packages = Object.keys(result.metafile.inputs).filter((input) => input.includes("node_modules/"));
  if (packages.length) throw new Error(`${entry} imports packages at runtime (${packages.join(", ")}); use \`import type\` or plain DOM code.`);
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return file.contents;
}

/** A swagger-ui-dist file as shipped, less its source-map comment (the maps are not served). */
function swaggerFile(name: string): string {
  return readFileSync(join(SWAGGER_DIR, name), "utf8").replace(/\n?\/[*/]# sourceMappingURL=\S+?(?:\s*\*\/)?\s*$/, "\n");
}

/** Every asset, by its path under the assets directory (= its URL path). */
function assetFiles(): Record<string, string | Uint8Array> {
  const source = (path: string) => readFileSync(join(root, path));
  return {
    "index.html": source("web/playground/index.html"),
    "docs.html": source("web/docs/index.html"),
    "static/playground.js": bundleScript("web/playground/main.ts"),
    "static/playground.css": source("web/playground/styles.css"),
    "static/docs.js": bundleScript("web/docs/init.ts"),
    "static/docs.css": source("web/docs/docs.css"),
    "static/swagger-ui/swagger-ui-bundle.js": swaggerFile("swagger-ui-bundle.js"),
    "static/swagger-ui/swagger-ui.css": swaggerFile("swagger-ui.css"),
    "static/swagger-ui/LICENSE": swaggerFile("LICENSE"),
    "static/swagger-ui/NOTICE": swaggerFile("NOTICE"),
  };
}

function sameBytes(path: string, next: Uint8Array): boolean {
  if (!existsSync(path)) return false;
  return Buffer.compare(readFileSync(path), next) === 0;
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/**
 * Writes the assets into `outDir`, touching only files whose bytes changed, each by an atomic
 * rename: test processes building at once never see a half-written file. Files no longer built
 * are removed. Returns the asset paths.
 */
export function buildWebAssets(outDir = ASSETS_DIR): string[] {
  const files = assetFiles();
  for (const [name, content] of Object.entries(files)) {
    const path = join(outDir, name);
    const bytes = typeof content === "string" ? Buffer.from(content) : content;
    if (sameBytes(path, bytes)) continue;
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  }
  for (const name of listFiles(outDir)) if (!(name in files) && !name.endsWith(".tmp")) rmSync(join(outDir, name));
  return Object.keys(files);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const names = buildWebAssets();
    console.log(`web assets ok: ${names.length} files in ${relative(root, ASSETS_DIR)}/`);
  } catch (e) {
    console.error(`web assets error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

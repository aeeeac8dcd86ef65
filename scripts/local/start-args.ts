import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { wranglerTomlPath } from "./wrangler-config.ts";

export type StartArgs =
  | { ok: true; port: number; configPath: string; stateDir: string }
  | { ok: false; message: string };

const USAGE = "usage: npm start [-- --port <port>] [--config <wrangler.toml>]   (PORT, STATE_DIR, COMFYUI_URL from the environment)";

/**
 * `npm start`'s options: `--port` (else PORT, else 8787; 0 picks a free port) and `--config`
 * (a wrangler.toml, default the project's); the state folder is STATE_DIR or .wrangler/state.
 */
export function parseStartArgs(argv: string[], env: NodeJS.ProcessEnv, root: string): StartArgs {
  let values: { port?: string | undefined; config?: string | undefined };
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: "string" }, config: { type: "string" } }, strict: true, allowPositionals: false }));
  } catch (e) {
    return { ok: false, message: `${(e as Error).message}\n${USAGE}` };
  }
  const [raw, from] = values.port !== undefined ? [values.port, "--port"] : [env.PORT ?? "8787", "PORT"];
  const port = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    return { ok: false, message: `${from} must be a port number (0 picks a free one), got "${raw}"` };
  }
  return {
    ok: true,
    port,
    configPath: values.config !== undefined ? resolve(values.config) : wranglerTomlPath(root),
    stateDir: env.STATE_DIR ? resolve(env.STATE_DIR) : join(root, ".wrangler/state"),
  };
}

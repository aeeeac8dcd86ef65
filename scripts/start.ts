/**
 * `npm start`: the whole service on this machine. The edge in workerd (state persisted under
 * .wrangler/state), one agent, and the ComfyUI stand-in unless COMFYUI_URL names a real one.
 * Ctrl-C drains the agent and stops all three.
 */
import { resolve } from "node:path";
import pc from "picocolors";
import { ROOT } from "./local/edge.ts";
import { describeSource, localKeys } from "./local/keys.ts";
import { startStack } from "./local/stack.ts";
import { prepareSimModels } from "./local/sim-models.ts";
import { parseStartArgs } from "./local/start-args.ts";
import { envOverrides, readWranglerConfig } from "./local/wrangler-config.ts";

const args = parseStartArgs(process.argv.slice(2), process.env, ROOT);
if (!args.ok) {
  console.error(args.message);
  process.exit(2);
}
const { port, configPath, stateDir } = args;

let stack: Awaited<ReturnType<typeof startStack>>;
let keys: ReturnType<typeof localKeys>;
const comfyUrl = process.env.COMFYUI_URL || undefined;
try {
  keys = localKeys(stateDir);
  // Every [vars] name may be overridden from the environment (PUBLIC_URL=… RATE_LIMIT_PER_MIN=… npm start).
  const vars = envOverrides(Object.keys(readWranglerConfig(configPath).vars));
  stack = await startStack({
    keys,
    agents: 1,
    // The stand-in keeps its models on disk, as ComfyUI's models/; the agent is told where (it fetches into it).
    ...(comfyUrl ? { comfyUrl } : { sim: { port: Number(process.env.SIM_PORT ?? 0), stepMs: Number(process.env.SIM_STEP_MS ?? 50), modelsDir: prepareSimModels(stateDir).dir } }),
    agent: { logLevel: (process.env.LOG_LEVEL as "info") ?? "info", prefetch: 1 },
    edge: { port, persistDir: stateDir, configPath, vars },
  });
} catch (e) {
  // The refusals people hit (a taken port, a state folder in use, a bad wrangler.toml) are one line each.
  const code = (e as { code?: unknown })?.code;
  if (code === "port_in_use" || code === "state_dir_busy") console.error(`npm start: ${(e as Error).message}`);
  else console.error(e);
  process.exit(1);
}

const url = stack.edge.url;
const keyLine = (label: string, key: string, role: "client" | "agent" | "admin") =>
  `  ${label}  ${key}  ${pc.dim(`(${describeSource(keys.sources[role])})`)}`;
const anyGenerated = Object.values(keys.sources).some((s) => s.from !== "env");
console.log(`
${pc.bold("comfy-edge is running")}
  API         ${pc.cyan(url)}            (playground: ${url}/, reference: ${url}/docs)
  ComfyUI     ${comfyUrl ?? `${stack.sims[0]!.url} (the built-in stand-in; set COMFYUI_URL for a real one)`}${comfyUrl ? "" : `
  models      ${stack.sims[0]!.dirs.models}  (the stand-in's models/ folder)`}
  state       ${resolve(stateDir)}
${keyLine("client key", keys.client, "client")}
${keyLine("agent key ", keys.agent, "agent")}
${keyLine("admin key ", keys.admin, "admin")}${anyGenerated ? pc.dim("\n  (set COMFY_EDGE_API_KEY, COMFY_EDGE_AGENT_KEY, COMFY_EDGE_ADMIN_KEY to choose your own)") : ""}

Try:
  curl -s -X POST ${url}/generate -H "Authorization: Bearer ${keys.client}" -H "Content-Type: application/json" \\
    -d '{"workflow_id":"sd15_basic","params":{"prompt":"a lighthouse at dusk"}}'
`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: draining the agent and stopping...`);
  const force = setTimeout(() => process.exit(1), 70_000);
  force.unref();
  await stack.close();
  console.log("stopped");
  process.exit(0);
}
// Miniflare installs exit-on-signal hooks; ours must run instead, so the agent drains first.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown(signal));
}

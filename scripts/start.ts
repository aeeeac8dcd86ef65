/**
 * `npm start`: the whole service on this machine. The edge in workerd (state persisted under
 * .wrangler/state), one agent, and the ComfyUI stand-in unless COMFYUI_URL names a real one.
 * Ctrl-C drains the agent and stops all three.
 */
import { join } from "node:path";
import pc from "picocolors";
import { ROOT } from "./local/edge.ts";
import { localKeys } from "./local/keys.ts";
import { startStack } from "./local/stack.ts";

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(2);
}
const keys = localKeys();
const comfyUrl = process.env.COMFYUI_URL || undefined;

const stack = await startStack({
  keys,
  agents: 1,
  ...(comfyUrl ? { comfyUrl } : { sim: { port: Number(process.env.SIM_PORT ?? 0), stepMs: Number(process.env.SIM_STEP_MS ?? 50) } }),
  agent: { logLevel: (process.env.LOG_LEVEL as "info") ?? "info", prefetch: 1 },
  edge: { port, persistDir: process.env.STATE_DIR ?? join(ROOT, ".wrangler/state") },
});

const url = stack.edge.url;
console.log(`
${pc.bold("comfy-edge is running")}
  API         ${pc.cyan(url)}            (playground: ${url}/, reference: ${url}/docs)
  ComfyUI     ${comfyUrl ?? `${stack.sims[0]!.url} (the built-in stand-in; set COMFYUI_URL for a real one)`}
  client key  ${keys.client}
  agent key   ${keys.agent}
  admin key   ${keys.admin}${keys.generated ? pc.dim("\n  (generated; set COMFY_EDGE_API_KEY, COMFY_EDGE_AGENT_KEY, COMFY_EDGE_ADMIN_KEY to fix them)") : ""}

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

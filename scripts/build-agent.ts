/**
 * `npm run build:agent`: bundles the agent into dist/comfy-agent.mjs for GPU rigs.
 * Run it with `node <AGENT_NODE_FLAGS> dist/comfy-agent.mjs ...` (scripts/agent-bundle.ts;
 * see install/README.md). The systemd unit runs this before every start, so rigs never run a stale bundle.
 */
import { buildAgentBundle } from "./agent-bundle.ts";

console.log(`built ${await buildAgentBundle()}`);

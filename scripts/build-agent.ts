/**
 * `npm run build:agent`: bundles the agent into dist/comfy-agent.mjs for GPU rigs.
 * Run it with `node --max-semi-space-size=1 dist/comfy-agent.mjs ...` (see install/README.md).
 */
import { buildAgentBundle } from "./agent-bundle.ts";

console.log(`built ${await buildAgentBundle()}`);

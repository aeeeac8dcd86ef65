/**
 * `npm run build:bins`, also run by `prepare` (npm ci, npm install, npm link): bundles the two
 * commands package.json's `bin` names, comfy-gen and comfy-agent, into dist/ as JavaScript that
 * runs on Node 20 and later (the .ts sources need the project's Node 22).
 */
import { buildAgentBundle, buildCliBundle } from "./agent-bundle.ts";

for (const path of await Promise.all([buildCliBundle(), buildAgentBundle()])) console.log(`built ${path}`);

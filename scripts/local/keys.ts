import { randomBytes } from "node:crypto";
import type { EdgeKeys } from "./edge.ts";

/** Local keys: from COMFY_EDGE_API_KEY / COMFY_EDGE_AGENT_KEY / COMFY_EDGE_ADMIN_KEY when set, else fresh random ones. */
export function localKeys(env: NodeJS.ProcessEnv = process.env): EdgeKeys & { generated: boolean } {
  const gen = (prefix: string) => `${prefix}_${randomBytes(18).toString("base64url")}`;
  const client = env.COMFY_EDGE_API_KEY || gen("ce_client");
  const agent = env.COMFY_EDGE_AGENT_KEY || gen("ce_agent");
  const admin = env.COMFY_EDGE_ADMIN_KEY || gen("ce_admin");
  for (const [name, key] of Object.entries({ COMFY_EDGE_API_KEY: client, COMFY_EDGE_AGENT_KEY: agent, COMFY_EDGE_ADMIN_KEY: admin })) {
    if (key.length < 16) throw new Error(`${name} must be at least 16 characters`);
  }
  return { client, agent, admin, generated: !(env.COMFY_EDGE_API_KEY && env.COMFY_EDGE_AGENT_KEY && env.COMFY_EDGE_ADMIN_KEY) };
}

import { randomBytes } from "node:crypto";
import type { EdgeKeys } from "../../scripts/local/edge.ts";

/** Fresh keys per test file, so no two files share a principal. */
export function testKeys(): EdgeKeys {
  const key = (role: string) => `${role}-${randomBytes(12).toString("hex")}`;
  return { client: key("client"), agent: key("agent"), admin: key("admin"), others: { bob: key("bob") } };
}

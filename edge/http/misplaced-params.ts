import { SubmitBodySchema } from "../../shared/api.ts";
import { ApiError } from "../../shared/errors.ts";
import { catalog } from "../catalog.ts";

const BODY_FIELDS = new Set(Object.keys(SubmitBodySchema.shape));
/** Every parameter name any workflow accepts. */
const PARAM_NAMES = new Set(Object.values(catalog.workflows).flatMap((w) => Object.keys(w.params)));

/**
 * Refuses a submit body that puts parameters at the top level (`{"prompt": …}`), the commonest
 * slip, pointing at `params.<name>` instead of a bare "unknown field". Other shape problems are
 * left to the schema.
 */
export function refuseMisplacedParams(json: unknown): void {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return;
  const misplaced = Object.keys(json).filter((key) => !BODY_FIELDS.has(key) && PARAM_NAMES.has(key));
  if (misplaced.length === 0) return;
  const hint = misplaced.map((k) => `params.${k}`).join(", ");
  throw new ApiError(
    "invalid_body",
    `Unknown top-level field${misplaced.length === 1 ? "" : "s"} ${misplaced.map((k) => `"${k}"`).join(", ")}: parameters go inside "params"; did you mean ${hint}?`,
    misplaced.map((k) => ({ path: k, rule: "unknown", message: `unknown field; did you mean params.${k}?` })),
  );
}

import { JOB_ERROR } from "../../shared/errors.ts";
import type { JobError, Output } from "../../shared/protocol.ts";
import type { StoredUpload } from "./store.ts";

export type VerifiedOutputs = { ok: true; outputs: Output[] } | { ok: false; error: JobError };

/**
 * What a `complete` may claim: only keys this lease actually uploaded (the upload route records
 * each one it stored). Size and type are the edge's own record, not the agent's word; the file
 * name and node come from the agent. Nothing named, or a key never uploaded, is a failure.
 */
export function verifyOutputs(claimed: Output[], uploaded: Map<string, StoredUpload>, titleOf: (nodeId: string) => string | null = () => null): VerifiedOutputs {
  if (claimed.length === 0) {
    return { ok: false, error: { code: JOB_ERROR.noOutputs, message: "The agent reported success but named no output; the attempt counts as failed." } };
  }
  const missing = claimed.filter((o) => !uploaded.has(o.key)).map((o) => o.key);
  if (missing.length > 0) {
    return {
      ok: false,
      error: {
        code: JOB_ERROR.outputMissing,
        message: `The agent reported ${missing.length} output(s) that were never uploaded under this lease (${missing.slice(0, 3).join(", ")}); the attempt counts as failed.`,
      },
    };
  }
  const seen = new Set<string>();
  const outputs: Output[] = [];
  for (const o of claimed) {
    if (seen.has(o.key)) continue;
    seen.add(o.key);
    const stored = uploaded.get(o.key)!;
    outputs.push({
      ...o,
      bytes: stored.bytes,
      content_type: stored.content_type,
      ...(stored.sha256 ? { sha256: stored.sha256 } : {}),
      width: stored.width ?? null,
      height: stored.height ?? null,
      node_title: titleOf(o.node_id),
    });
  }
  return { ok: true, outputs };
}

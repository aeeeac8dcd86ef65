import fc from "fast-check";
import { AgentMessageSchema } from "../../shared/protocol.ts";
import { jsonText, oddString } from "./arbitraries.ts";

export interface Lease {
  job_id: string;
  lease_id: string;
}

type Frame = Record<string, unknown>;

/** Well-formed frames of every agent message type, naming `lease`: the seeds mutations start from. */
export function validFrames(lease: Lease, agentId: string): fc.Arbitrary<Frame> {
  const ref = { job_id: lease.job_id, lease_id: lease.lease_id };
  const output = (i: number) => ({ key: `out/${lease.job_id}/${lease.lease_id}/${i}`, content_type: "image/png", bytes: 68, filename: `ComfyUI_${i}.png`, node_id: "9" });
  return fc.oneof(
    fc.constant({ type: "heartbeat", leases: [ref] }),
    // Well-formed progress has 0 ≤ value ≤ max (the edge refuses more).
    fc.record({ phase: fc.constantFrom("queued", "running", "uploading"), value: fc.nat(100), more: fc.nat(100) }).map(({ phase, value, more }) => ({ type: "progress", ...ref, phase, value, max: value + more, node: "3", step_name: "KSampler" })),
    fc.nat(3).map((n) => ({ type: "complete", ...ref, outputs: Array.from({ length: n + 1 }, (_, i) => output(i)), prompt_id: "p", run_ms: 12 })),
    fc.boolean().map((retryable) => ({ type: "fail", ...ref, retryable, error: { code: "execution_error", message: "boom", node_id: "3" } })),
    fc.constant({ type: "release", ...ref, reason: "fuzz" }),
    fc.constant({ type: "pause" }),
    fc.constant({
      type: "hello", protocol: 1, agent_id: agentId, name: "fuzz", version: "0.0.0", pool: "default", capacity: 1, prefetch: 0, inventory: {}, gpu: null,
    }),
  );
}

/** JSON values as objects (parsed from the odd JSON text generator, so huge numbers arrive as Infinity or rounded). */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  jsonText.map((t) => JSON.parse(t) as unknown),
  oddString,
  fc.constantFrom(null, true, -1, 0, 1e308, -0, 2 ** 53 + 1, [], {}),
);

/** One change to a frame: a field set to a wrong value, removed, added, or the type renamed. */
function mutate(frame: Frame): fc.Arbitrary<Frame> {
  const keys = Object.keys(frame).length > 0 ? Object.keys(frame) : ["type"];
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), anyValue).map(([k, v]) => ({ ...frame, [k]: v })),
    fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(frame).filter(([key]) => key !== k))),
    fc.tuple(oddString.filter((s) => s.length < 40), anyValue).map(([k, v]) => ({ ...frame, [k]: v })),
    fc.oneof(oddString, fc.constantFrom("HELLO", "Complete", "complete ", "ack", "job", "welcome", "cancel", "error", "drain")).map((t) => ({ ...frame, type: t })),
    // Nested fields: an output or error with a wrong-typed member.
    fc.tuple(fc.constantFrom("key", "bytes", "content_type", "code", "message"), anyValue).map(([k, v]) => {
      const outputs = Array.isArray(frame.outputs) ? [{ ...(frame.outputs[0] as Frame), [k]: v }] : frame.outputs;
      const error = frame.error && typeof frame.error === "object" ? { ...(frame.error as Frame), [k]: v } : frame.error;
      return { ...frame, ...(outputs !== undefined ? { outputs } : {}), ...(error !== undefined ? { error } : {}) };
    }),
  );
}

/**
 * Makes a frame unable to change anything legitimately: a frame the schema accepts gets a
 * lease the edge never issued (or, for `hello`, another agent's id; `pause` is dropped),
 * while a `complete` whose outputs lie outside the lease's grant keeps the real lease (the
 * edge must refuse it on its own). Invalid frames pass through untouched.
 */
export function makeInert(frame: unknown, lease: Lease, salt: string): unknown {
  const parsed = AgentMessageSchema.safeParse(frame);
  if (!parsed.success) return frame;
  const m = parsed.data;
  const unknownLease = `lse_fuzz_${salt}`;
  switch (m.type) {
    case "hello":
      return { ...(frame as Frame), agent_id: `someone-else-${salt}` };
    case "pause":
    case "resume":
    case "inventory":
    case "fetch_progress":
    case "fetch_result":
      return { ...(frame as Frame), type: `${m.type}-${salt}` };
    case "heartbeat":
      return { ...(frame as Frame), leases: m.leases.map((l) => (l.lease_id === lease.lease_id ? { ...l, lease_id: unknownLease } : l)) };
    case "complete": {
      const outside = m.outputs.some((o) => !o.key.startsWith(`out/${m.job_id}/${m.lease_id}/`));
      return m.lease_id === lease.lease_id && !outside ? { ...(frame as Frame), lease_id: unknownLease } : frame;
    }
    default:
      return m.lease_id === lease.lease_id ? { ...(frame as Frame), lease_id: unknownLease } : frame;
  }
}

/** What goes on the wire: the frame as JSON text, or raw garbage text, or a binary frame. */
export function wireFrames(lease: Lease, agentId: string): fc.Arbitrary<string | Uint8Array> {
  const mutated = validFrames(lease, agentId).chain((f) => fc.oneof(mutate(f), mutate(f).chain(mutate)));
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(mutated, fc.stringMatching(/^[a-z0-9]{8}$/)).map(([f, salt]) => JSON.stringify(makeInert(f, lease, salt))) },
    { weight: 1, arbitrary: fc.tuple(validFrames(lease, agentId), fc.stringMatching(/^[a-z0-9]{8}$/)).map(([f, salt]) => JSON.stringify(makeInert(f, lease, salt))) },
    { weight: 2, arbitrary: fc.tuple(jsonText, fc.stringMatching(/^[a-z0-9]{8}$/)).map(([t, salt]) => JSON.stringify(makeInert(JSON.parse(t), lease, salt))) },
    { weight: 1, arbitrary: oddString },
    // Cut short (never the whole text: a whole short frame would be a valid one).
    { weight: 1, arbitrary: mutated.map((f) => JSON.stringify(f)).chain((t) => fc.nat(t.length - 1).map((n) => t.slice(0, n))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );
}

import type { Field } from "./form-state.ts";

/** A field's value as the request sends it; `skip` leaves it out so the edge applies the default. */
export type FieldValue = { kind: "skip" } | { kind: "value"; value: unknown } | { kind: "file"; file: File };

export function readField(f: Field): FieldValue {
  const { param: p, input } = f;
  if (p.choices !== null) return { kind: "value", value: p.choices[Number(input.value)] };
  if (input instanceof HTMLInputElement && input.type === "checkbox") return { kind: "value", value: input.checked };
  if (input instanceof HTMLInputElement && input.type === "file") {
    const file = input.files?.[0];
    return file ? { kind: "file", file } : { kind: "skip" };
  }
  const raw = input.value;
  if (p.type === "integer" || p.type === "float") {
    const trimmed = raw.trim();
    if (trimmed === "") return { kind: "skip" };
    const n = Number(trimmed);
    // Not a number: sent as typed, so the edge's error names the field and the rule.
    return { kind: "value", value: Number.isFinite(n) ? n : trimmed };
  }
  // An empty text is left out: the edge applies the default, or reports a required one.
  return raw === "" ? { kind: "skip" } : { kind: "value", value: raw };
}

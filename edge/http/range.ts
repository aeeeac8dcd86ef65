/**
 * The Range header of a GET, read per RFC 9110 §14: one `bytes` range or nothing. A header that
 * does not parse, names another unit, or asks for several ranges is ignored (the whole body,
 * 200), as the RFC allows; a single range that starts past the end is unsatisfiable (416).
 */
export type RangeRequest =
  | { kind: "none" }
  | { kind: "unsatisfiable" }
  | { kind: "range"; offset: number; length: number };

const SINGLE = /^bytes=[ \t]*(?:(\d+)-(\d*)|-(\d+))[ \t]*$/i;

export function parseRange(header: string | undefined | null, size: number): RangeRequest {
  if (header === undefined || header === null) return { kind: "none" };
  const m = SINGLE.exec(header);
  if (!m) return { kind: "none" };
  const [, first, last, suffix] = m;
  if (suffix !== undefined) {
    const n = Number(suffix);
    // A suffix of zero bytes, or any suffix of an empty file, selects nothing.
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(n, size);
    return { kind: "range", offset: size - length, length };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return { kind: "none" };
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "range", offset: start, length: end - start + 1 };
}

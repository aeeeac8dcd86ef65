/** The longest `Prefer: wait` the edge honours, in seconds. */
export const MAX_PREFER_WAIT_S = 60;

/**
 * The `wait` preference of a `Prefer` header (RFC 7240), capped at `MAX_PREFER_WAIT_S`; null
 * when there is none or it is not a delta-seconds value (unknown or malformed preferences are
 * ignored, as the RFC asks). Several preferences may share the header, comma-separated, each
 * with `;` parameters.
 */
export function preferredWaitS(header: string | null | undefined): number | null {
  if (!header) return null;
  for (const pref of header.split(",")) {
    const [head] = pref.split(";");
    const m = /^\s*wait\s*=\s*(?:"(\d{1,10})"|(\d{1,10}))\s*$/i.exec(head ?? "");
    if (!m) continue;
    const n = Number(m[1] ?? m[2]);
    return n > 0 ? Math.min(n, MAX_PREFER_WAIT_S) : null;
  }
  return null;
}

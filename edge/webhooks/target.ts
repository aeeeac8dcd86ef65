/**
 * Decides whether a webhook URL may be called. The original service POSTed to any URL,
 * internal ones included (SSRF). Here: https only (http only when local dev allows it),
 * no credentials in the URL, and no IP literal or well-known name in private, loopback,
 * link-local or otherwise special ranges, unless the host is explicitly allow-listed.
 */
export interface TargetPolicy {
  allowHttp: boolean;
  /** `host` or `host:port` entries allowed even though they are private (local dev). */
  allowHosts: string[];
}

function ipv4Parts(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function privateIpv4([a, b]: number[]): boolean {
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b! >= 64 && b! <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) || a! >= 224
  );
}

function privateIpv6(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "::" || h === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return privateIpv4(ipv4Parts(mapped[1]!) ?? [0]);
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(h)) return true;
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(h) || h.startsWith("64:ff9b") || h.startsWith("2001:db8");
}

const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|intranet|lan|home|corp|localdomain|home\.arpa)$/;

/** Null when allowed, else the reason it is refused. */
export function refuseTarget(raw: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a valid absolute URL";
  }
  if (url.username || url.password) return "must not contain credentials";
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const allowed = policy.allowHosts.includes(host) || policy.allowHosts.includes(url.host.toLowerCase());
  if (url.protocol !== "https:" && !(url.protocol === "http:" && (policy.allowHttp || allowed))) {
    return "must use https";
  }
  if (allowed) return null;
  const v4 = ipv4Parts(host);
  if (v4) return privateIpv4(v4) ? "points at a private, loopback or reserved address" : null;
  if (host.includes(":")) return privateIpv6(host) ? "points at a private, loopback or reserved address" : null;
  // Numeric forms browsers accept for IPv4 (decimal, hex, octal) are refused outright.
  if (/^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+))*$/.test(host)) return "uses a numeric host form that is not allowed";
  if (!host.includes(".") || PRIVATE_NAMES.test(host)) return "points at a local or internal host name";
  return null;
}

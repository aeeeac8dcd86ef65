import ipaddr from "ipaddr.js";
import { resolveName, type DohFetch } from "./resolve.ts";

/**
 * Decides whether a webhook URL may be called. The original service POSTed to any URL,
 * internal ones included (SSRF). Here: https only (http only when local dev allows it), no
 * credentials in the URL, a normalised host (lowercase, IDNA, one trailing dot dropped) that
 * is neither a special-use name nor an address outside global unicast, and, before every
 * delivery, a name whose DNS answers are all global unicast too. An allow-listed host skips
 * the address checks (local dev).
 */
export interface TargetPolicy {
  allowHttp: boolean;
  /** `host` or `host:port` entries allowed even though they are private (local dev). */
  allowHosts: string[];
  /** A DNS-over-HTTPS JSON endpoint to resolve names with before delivery; null: no resolution. */
  resolver?: string | null;
}

/** Why a target is refused; `unreachable` means "maybe later" (the resolver failed), the rest are final. */
export type TargetVerdict = { ok: true } | { ok: false; final: boolean; reason: string };

/**
 * Names that never belong on the public internet (RFC 6761, 6762, 7686, 8375, 9476, and the
 * suffixes clusters and home or corporate networks use). A host equal to one, or under one, is
 * refused.
 */
export const SPECIAL_USE_SUFFIXES = [
  "localhost", "local", "internal", "intranet", "private", "lan", "home", "corp", "localdomain", "home.arpa", "arpa",
  "svc", "cluster.local", "test", "invalid", "example", "onion", "alt",
] as const;

const PRIVATE_ADDRESS = "points at a private, loopback or reserved address";
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

/** Null when a literal address is global unicast; else why not. IPv6 must be in 2000::/3 and not special there. */
export function refuseAddress(literal: string): string | null {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(literal);
  } catch {
    return "is not an IP address";
  }
  if (addr.kind() === "ipv6") {
    const v6 = addr as ipaddr.IPv6;
    // ::a.b.c.d (IPv4-compatible, deprecated) is "unicast" to the library but reaches the IPv4 address.
    if (v6.match(IPV4_COMPATIBLE) || !v6.match(GLOBAL_UNICAST_V6)) return PRIVATE_ADDRESS;
  }
  return addr.range() === "unicast" ? null : PRIVATE_ADDRESS;
}

/** The host as every check sees it: what the WHATWG URL parser gives (lowercase, IDNA, IPv4 forms normalised), minus one trailing dot. */
export function normaliseHost(url: URL): string {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function isSpecialUseName(host: string): boolean {
  return SPECIAL_USE_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`));
}

/** Dotted quads inside a name (127.0.0.1.nip.io): refused when the address they spell is not public. */
function embeddedAddressRefusal(host: string): string | null {
  for (const m of host.matchAll(/(?:^|\.)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?=\.|$)/g)) {
    if (ipaddr.IPv4.isValidFourPartDecimal(m[1]!) && refuseAddress(m[1]!)) return `embeds the address ${m[1]}, which ${PRIVATE_ADDRESS}`;
  }
  return null;
}

interface Parsed {
  url: URL;
  host: string;
  allowed: boolean;
  literal: boolean;
}

function parseTarget(raw: string, policy: TargetPolicy): Parsed | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a valid absolute URL";
  }
  if (url.username || url.password) return "must not contain credentials";
  const host = normaliseHost(url);
  const hostPort = url.port ? `${host.includes(":") ? `[${host}]` : host}:${url.port}` : host;
  const allowed = policy.allowHosts.includes(host) || policy.allowHosts.includes(hostPort);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && (policy.allowHttp || allowed))) return "must use https";
  if (host === "" || host.endsWith(".")) return "has an empty host name label";
  const literal = ipaddr.isValid(host) && (host.includes(":") || ipaddr.IPv4.isValidFourPartDecimal(host));
  return { url, host, allowed, literal };
}

/** Null when allowed by everything that needs no network; else the reason it is refused. */
export function refuseTarget(raw: string, policy: TargetPolicy): string | null {
  const t = parseTarget(raw, policy);
  if (typeof t === "string") return t;
  if (t.allowed) return null;
  if (t.literal) return refuseAddress(t.host);
  // The URL parser has already turned decimal, hex and octal IPv4 forms into dotted quads; anything numeric left is odd.
  if (/^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+))*$/.test(t.host)) return "uses a numeric host form that is not allowed";
  if (!t.host.includes(".") || isSpecialUseName(t.host)) return "points at a local or internal host name";
  return embeddedAddressRefusal(t.host);
}

/**
 * The check before each delivery attempt: everything refuseTarget checks, then (for a name, when
 * a resolver is configured) every A and AAAA answer must be global unicast. A resolver that fails
 * or finds no address is not final: the attempt counts as unreachable and is retried.
 */
export async function checkDeliveryTarget(raw: string, policy: TargetPolicy, fetcher: DohFetch = fetch): Promise<TargetVerdict> {
  const refused = refuseTarget(raw, policy);
  if (refused) return { ok: false, final: true, reason: refused };
  const t = parseTarget(raw, policy) as Parsed;
  if (t.allowed || t.literal || !policy.resolver) return { ok: true };
  const answer = await resolveName(t.host, policy.resolver, fetcher);
  if (!answer.ok) return { ok: false, final: false, reason: answer.reason };
  for (const address of answer.addresses) {
    if (refuseAddress(address)) return { ok: false, final: true, reason: `resolves to ${address}, which ${PRIVATE_ADDRESS}` };
  }
  return { ok: true };
}

/** The policy the edge's vars set (submit and every delivery attempt use the same one). */
export function webhookPolicy(config: { ALLOW_HTTP_WEBHOOKS: boolean; WEBHOOK_ALLOW_HOSTS: string[]; WEBHOOK_DNS_RESOLVER: string | null }): TargetPolicy {
  return { allowHttp: config.ALLOW_HTTP_WEBHOOKS, allowHosts: config.WEBHOOK_ALLOW_HOSTS, resolver: config.WEBHOOK_DNS_RESOLVER };
}

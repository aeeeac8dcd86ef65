import type { IncomingHttpHeaders } from "node:http";

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * ComfyUI's origin-only middleware: a browser page on another origin must not queue prompts
 * on a loopback ComfyUI, so a loopback Host whose Origin differs gets a 403.
 */
export function originRefused(headers: IncomingHttpHeaders): boolean {
  const host = headers.host;
  const origin = headers.origin;
  if (!host || !origin) return false;
  const originUrl = parse(origin);
  const hostUrl = parse(`http://${host.toLowerCase()}`);
  if (!originUrl || !hostUrl) return false;
  let hostDomain = host.toLowerCase();
  let originDomain = originUrl.host.toLowerCase();
  if (originUrl.port === "") hostDomain = hostUrl.hostname;
  if (hostUrl.port === "") originDomain = originUrl.hostname.toLowerCase();
  return isLoopback(hostUrl.hostname) && hostDomain !== "" && originDomain !== "" && hostDomain !== originDomain;
}

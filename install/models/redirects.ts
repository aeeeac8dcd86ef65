import { DownloadError } from "./errors.ts";
import { isHuggingFaceHost, mayCarryToken } from "./hosts.ts";
import type { HttpResponse, Transport } from "./transport.ts";

/** What the Hub said about the file on the way (it answers before redirecting to its CDN). */
export type HubFacts = {
  /** sha256 of an LFS file, from `X-Linked-Etag` (only when it is 64 hex digits). */
  sha256: string | null;
  /** The commit the revision resolved to, from `X-Repo-Commit`. */
  commit: string | null;
};

export type Opened = {
  response: HttpResponse;
  finalUrl: URL;
  hub: HubFacts;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * GETs `configured`, following redirects by hand so the token policy is applied per hop:
 * `Authorization` goes only to a Hugging Face host that is the host the config named.
 */
export async function openFollowingRedirects(
  configured: URL,
  options: { transport: Transport; token: string | null; headers: Record<string, string>; signal?: AbortSignal },
): Promise<Opened> {
  const hub: HubFacts = { sha256: null, commit: null };
  let current = configured;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = { ...options.headers };
    if (options.token !== null && mayCarryToken(configured, current)) headers.authorization = `Bearer ${options.token}`;
    const response = await options.transport(current, { headers, ...(options.signal ? { signal: options.signal } : {}) });
    if (isHuggingFaceHost(current.hostname)) collectHubFacts(response, hub);

    if (!REDIRECTS.has(response.status)) return { response, finalUrl: current, hub };

    response.body.resume();
    const location = response.headers.location;
    if (location === undefined || location === "") {
      throw new DownloadError("http_error", `${current.host} answered ${response.status} without a Location`, true);
    }
    const next = new URL(location, current);
    if (current.protocol === "https:" && next.protocol !== "https:") {
      throw new DownloadError("insecure_redirect", `${current.host} redirected to non-https ${next.origin}; refusing`, false);
    }
    current = next;
  }
  throw new DownloadError("too_many_redirects", `more than ${MAX_REDIRECTS} redirects from ${configured.href}`, false);
}

function collectHubFacts(response: HttpResponse, hub: HubFacts): void {
  // Only the Hub's X-Linked-Etag names the LFS sha256; plain ETags (CDN, small git files) do not.
  const sha = header(response, "x-linked-etag")?.replace(/^W\//, "").replaceAll('"', "").toLowerCase() ?? "";
  if (/^[0-9a-f]{64}$/.test(sha)) hub.sha256 = sha;
  const commit = header(response, "x-repo-commit");
  if (commit !== null && /^[0-9a-f]{40}$/i.test(commit)) hub.commit = commit.toLowerCase();
}

export function header(response: HttpResponse, name: string): string | null {
  const value = response.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

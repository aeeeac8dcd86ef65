import { DownloadError } from "./errors.ts";
import { isHuggingFaceHost, mayCarryToken } from "../../shared/model-catalog/hosts.ts";
import type { HopRules, HttpResponse, ResponseHeaders, Transport } from "./transport.ts";

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
 * GETs `configured`, following redirects with the token policy applied per hop:
 * `Authorization` goes only to a Hugging Face host that is the host the config named. An
 * https page that redirects to plain http, a loop, or more than 10 redirects fail.
 */
export async function openFollowingRedirects(
  configured: URL,
  options: { transport: Transport; token: string | null; headers: Record<string, string>; signal?: AbortSignal },
): Promise<Opened> {
  const hub: HubFacts = { sha256: null, commit: null };
  const visited = new Set<string>();
  const hops: HopRules = {
    headersFor(url) {
      const headers = { ...options.headers };
      if (options.token !== null && mayCarryToken(configured, url)) headers.authorization = `Bearer ${options.token}`;
      return headers;
    },
    answered(url, status, headers) {
      if (isHuggingFaceHost(url.hostname)) collectHubFacts(headers, hub);
      const location = REDIRECTS.has(status) ? headerValue(headers, "location") : null;
      if (location === null || location === "") return;
      const next = new URL(location, url);
      if (url.protocol === "https:" && next.protocol !== "https:") {
        throw new DownloadError("insecure_redirect", `${url.host} redirected to non-https ${next.origin}; refusing`, false);
      }
      visited.add(url.href);
      if (visited.has(next.href)) throw new DownloadError("too_many_redirects", `redirect loop at ${next.href} (from ${configured.href})`, false);
    },
  };
  const { finalUrl, ...response } = await options.transport(configured, {
    hops,
    maxRedirects: MAX_REDIRECTS,
    ...(options.signal ? { signal: options.signal } : {}),
  });

  if (REDIRECTS.has(response.status)) {
    // A redirect came back as the answer: it had no Location, or the chain ran past the limit.
    response.body.resume();
    if (!header(response, "location")) throw new DownloadError("http_error", `${finalUrl.host} answered ${response.status} without a Location`, true);
    throw new DownloadError("too_many_redirects", `more than ${MAX_REDIRECTS} redirects from ${configured.href}`, false);
  }
  return { response, finalUrl, hub };
}

function collectHubFacts(headers: ResponseHeaders, hub: HubFacts): void {
  // Only the Hub's X-Linked-Etag names the LFS sha256; plain ETags (CDN, small git files) do not.
  const sha = headerValue(headers, "x-linked-etag")?.replace(/^W\//, "").replaceAll('"', "").toLowerCase() ?? "";
  if (/^[0-9a-f]{64}$/.test(sha)) hub.sha256 = sha;
  const commit = headerValue(headers, "x-repo-commit");
  if (commit !== null && /^[0-9a-f]{40}$/i.test(commit)) hub.commit = commit.toLowerCase();
}

export function header(response: HttpResponse, name: string): string | null {
  return headerValue(response.headers, name);
}

function headerValue(headers: ResponseHeaders, name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

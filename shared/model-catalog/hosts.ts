/** Hosts that may receive the Hugging Face token: the Hub itself and its own subdomains. */
export function isHuggingFaceHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return host === "huggingface.co" || host === "hf.co" || host.endsWith(".huggingface.co");
}

/**
 * Whether a request to `current` may carry the token, given the URL the config named.
 * Only a Hugging Face host, and only the same host the config named: a redirect to any other
 * host (the Hub's CDN included, whose signed URLs need no token) never gets it.
 */
export function mayCarryToken(configured: URL, current: URL): boolean {
  return isHuggingFaceHost(current.hostname) && current.host.toLowerCase() === configured.host.toLowerCase() && current.protocol === configured.protocol;
}

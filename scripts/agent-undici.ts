/**
 * What the agent bundle gets for a bare `import … from "undici"` (buildAgentBundle aliases it
 * here): undici's HTTP client (its dispatchers with their request API, errors and interceptors)
 * without what undici's index also loads on import: fetch, WebSocket, EventSource, caches,
 * cookies, mocks (~10 MiB of RSS, see agent/http-dispatcher.ts). The classes are undici's own,
 * the ones its index exports. A name the agent imports from "undici" that is missing here fails
 * the bundle's build ("No matching export"): add it here, by path.
 */
import api from "undici/lib/api/index.js";
import errors from "undici/lib/core/errors.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Client from "undici/lib/dispatcher/client.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";
import EnvHttpProxyAgent from "undici/lib/dispatcher/env-http-proxy-agent.js";
import Pool from "undici/lib/dispatcher/pool.js";
import ProxyAgent from "undici/lib/dispatcher/proxy-agent.js";

// As the index does: every dispatcher gets `request`, `stream`, `pipeline`, `connect`, `upgrade`.
Object.assign(Dispatcher.prototype, api);

/**
 * undici's interceptors, as its index names them. Only `redirect` is bundled (the agent and the
 * installer use it alone): the others would add their source (~100 KB, with caches, dns and
 * zlib's handlers) to the bundle's, which V8 keeps in the heap, one byte a character, for the
 * process's life. Naming another throws, saying where to add it. The bundler turns the `require`
 * into the bundled module's lazy initialiser.
 */
const notBundled = (name: string): never => {
  throw new Error(`undici's interceptors.${name} is not in the agent bundle: add it to scripts/agent-undici.ts`);
};
export const interceptors = {
  get redirect() { return require("undici/lib/interceptor/redirect.js"); },
  get responseError() { return notBundled("responseError"); },
  get retry() { return notBundled("retry"); },
  get dump() { return notBundled("dump"); },
  get dns() { return notBundled("dns"); },
  get cache() { return notBundled("cache"); },
  get decompress() { return notBundled("decompress"); },
  get deduplicate() { return notBundled("deduplicate"); },
};

export { Agent, Client, Dispatcher, EnvHttpProxyAgent, errors, Pool, ProxyAgent };

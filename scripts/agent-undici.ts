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
 * All of undici's interceptors, as its index names them, each loaded when first named: the agent
 * uses `redirect` alone, and the others bring Node modules it never needs (dns, zlib, sqlite for
 * caches). The bundler turns each `require` into the bundled module's lazy initialiser.
 */
export const interceptors = {
  get redirect() { return require("undici/lib/interceptor/redirect.js"); },
  get responseError() { return require("undici/lib/interceptor/response-error.js"); },
  get retry() { return require("undici/lib/interceptor/retry.js"); },
  get dump() { return require("undici/lib/interceptor/dump.js"); },
  get dns() { return require("undici/lib/interceptor/dns.js"); },
  get cache() { return require("undici/lib/interceptor/cache.js"); },
  get decompress() { return require("undici/lib/interceptor/decompress.js"); },
  get deduplicate() { return require("undici/lib/interceptor/deduplicate.js"); },
};

export { Agent, Client, Dispatcher, EnvHttpProxyAgent, errors, Pool, ProxyAgent };

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
import cache from "undici/lib/interceptor/cache.js";
import decompress from "undici/lib/interceptor/decompress.js";
import deduplicate from "undici/lib/interceptor/deduplicate.js";
import dns from "undici/lib/interceptor/dns.js";
import dump from "undici/lib/interceptor/dump.js";
import redirect from "undici/lib/interceptor/redirect.js";
import responseError from "undici/lib/interceptor/response-error.js";
import retry from "undici/lib/interceptor/retry.js";

// As the index does: every dispatcher gets `request`, `stream`, `pipeline`, `connect`, `upgrade`.
Object.assign(Dispatcher.prototype, api);

/** All of undici's interceptors, as its index names them (each a few small modules). */
export const interceptors = { redirect, responseError, retry, dump, dns, cache, decompress, deduplicate };

export { Agent, Client, Dispatcher, EnvHttpProxyAgent, errors, Pool, ProxyAgent };

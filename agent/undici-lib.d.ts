// Types for the undici modules the agent imports by path (see http-dispatcher.ts for why):
// the same classes and functions undici's index exports, typed by undici's own declarations.

declare module "undici/lib/dispatcher/dispatcher.js" {
  import type { Dispatcher } from "undici";
  const DispatcherClass: typeof Dispatcher;
  export = DispatcherClass;
}

declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";
  const PoolClass: typeof Pool;
  export = PoolClass;
}

declare module "undici/lib/dispatcher/env-http-proxy-agent.js" {
  import type { EnvHttpProxyAgent } from "undici";
  const EnvHttpProxyAgentClass: typeof EnvHttpProxyAgent;
  export = EnvHttpProxyAgentClass;
}

declare module "undici/lib/api/index.js" {
  import type { Dispatcher } from "undici";
  /** The request API undici's index mixes into `Dispatcher.prototype`. */
  const api: Pick<Dispatcher, "request" | "stream" | "pipeline" | "connect" | "upgrade">;
  export = api;
}

declare module "undici/lib/dispatcher/client.js" {
  import type { Client } from "undici";
  const ClientClass: typeof Client;
  export = ClientClass;
}

// The rest of what scripts/agent-undici.ts (the agent bundle's `undici`) takes by path.

declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";
  const AgentClass: typeof Agent;
  export = AgentClass;
}

declare module "undici/lib/dispatcher/proxy-agent.js" {
  import type { ProxyAgent } from "undici";
  const ProxyAgentClass: typeof ProxyAgent;
  export = ProxyAgentClass;
}

declare module "undici/lib/core/errors.js" {
  import type { errors } from "undici";
  const undiciErrors: typeof errors;
  export = undiciErrors;
}

declare module "undici/lib/interceptor/redirect.js" {
  import type { interceptors } from "undici";
  const redirect: typeof interceptors.redirect;
  export = redirect;
}


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

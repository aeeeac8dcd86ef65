import type { Env as EdgeEnv } from "../env.ts";

// Types the `env` of `cloudflare:test` as the edge's own Env.
declare global {
  namespace Cloudflare {
    interface Env extends EdgeEnv {}
  }
}

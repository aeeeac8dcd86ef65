declare module "cloudflare:test" {
  interface ProvidedEnv extends import("../env.ts").Env {}
}
declare namespace Cloudflare {
  interface Env extends import("../env.ts").Env {}
}

import type { Context } from "hono";
import type { Principal } from "../auth/keys.ts";
import type { Config, Env } from "../env.ts";

export interface AppVariables {
  principal: Principal;
  config: Config;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
export type AppContext = Context<AppEnv>;

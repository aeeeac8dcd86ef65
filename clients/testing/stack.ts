import { startStack, type Stack } from "../../scripts/local/stack.ts";
import { testKeys } from "./keys.ts";

/**
 * The whole local service for client tests: edge (in-memory), one sim, one in-process
 * agent. `stepMs` is the sim's time per sampler step, so `steps` sets how long a job runs.
 */
export function startClientStack(stepMs = 40): Promise<Stack> {
  return startStack({ keys: testKeys(), sim: { stepMs } });
}

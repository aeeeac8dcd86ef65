import { z } from "zod";
import type { FaultPlanner } from "./faults.ts";
import { SimFaultsSchema } from "./faults.ts";
import { json, type Router, readJson } from "./http.ts";
import type { StatsRecorder } from "./stats.ts";

export interface SimRoutesDeps {
  readonly stats: StatsRecorder;
  readonly faults: FaultPlanner;
  crash(): void;
  removeModel(name: string): boolean;
  addModel(dir: string, name: string): void;
}

/** Harness controls outside ComfyUI's namespace: `/__sim/stats`, `/__sim/faults`, `/__sim/crash`. */
export function addSimRoutes(router: Router, deps: SimRoutesDeps): void {
  router.add("GET", "/__sim/stats", () => json(deps.stats.snapshot()));

  router.add("POST", "/__sim/faults", async (req) => {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return json({ error: { code: "invalid_json", message: "The body must be JSON: {errorRate?, crashRate?, hangRate?, slowRate?, slowFactor?, seed?, crashDownMs?}" } }, 400);
    }
    const parsed = SimFaultsSchema.safeParse(body);
    if (!parsed.success) {
      return json({ error: { code: "invalid_body", message: `Invalid faults: ${z.prettifyError(parsed.error)}` } }, 400);
    }
    deps.faults.set(parsed.data);
    return json({ faults: deps.faults.current });
  });

  router.add("POST", "/__sim/models/delete", async (req) => {
    const parsed = z.object({ name: z.string().min(1) }).safeParse(await readJson(req).catch(() => null));
    if (!parsed.success) return json({ error: { code: "invalid_body", message: "The body must be JSON: {name}" } }, 400);
    return json({ removed: deps.removeModel(parsed.data.name) });
  });

  router.add("POST", "/__sim/models/add", async (req) => {
    const parsed = z.object({ dir: z.string().min(1).max(64), name: z.string().min(1).max(512) }).safeParse(await readJson(req).catch(() => null));
    if (!parsed.success) return json({ error: { code: "invalid_body", message: "The body must be JSON: {dir, name} (dir as under models/: checkpoints, unet, loras, ...)" } }, 400);
    deps.addModel(parsed.data.dir, parsed.data.name);
    return json({ added: true });
  });

  router.add("POST", "/__sim/crash", () => ({ ...json({ crashing: true }), after: () => deps.crash() }));
}

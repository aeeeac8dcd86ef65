import { describe, expect, it } from "vitest";
import { renderMetrics } from "./metrics-text.ts";

describe("renderMetrics", () => {
  it("counts model fetches started and failed, and jobs failed for a model that could not be fetched", () => {
    const text = renderMetrics([
      {
        pool: "gpu", jobs_by_state: {}, queue_depth: 0, agents_connected: 1, agents_busy: 0, agents_quarantined: 0,
        counters: { model_fetches_started: 3, model_fetches_failed: 1, jobs_model_unavailable: 2 },
      },
    ]);
    expect(text).toContain('comfy_edge_model_fetches_started_total{pool="gpu"} 3\n');
    expect(text).toContain('comfy_edge_model_fetches_failed_total{pool="gpu"} 1\n');
    expect(text).toContain('comfy_edge_jobs_model_unavailable_total{pool="gpu"} 2\n');
    expect(text).toContain("# TYPE comfy_edge_model_fetches_started_total counter\n");
  });
});

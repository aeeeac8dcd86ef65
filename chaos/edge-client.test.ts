import { describe, expect, it } from "vitest";
import { keyOfDownloadUrl, parseMetrics } from "./edge-client.ts";

describe("parseMetrics", () => {
  it("sums jobs by state and the queue counters over pools", () => {
    const text = [
      "# HELP comfy_edge_jobs Jobs held by the queue, by state.",
      'comfy_edge_jobs{pool="default",state="succeeded"} 7',
      'comfy_edge_jobs{pool="flux",state="succeeded"} 2',
      'comfy_edge_jobs{pool="default",state="queued"} 1',
      'comfy_edge_retries_total{pool="default"} 3',
      'comfy_edge_lease_expiries_total{pool="default"} 4',
      'comfy_edge_dispatch_latency_seconds_bucket{pool="default",le="0.001"} 9',
    ].join("\n");
    expect(parseMetrics(text)).toEqual({ byState: { succeeded: 9, queued: 1 }, counters: { retries: 3, lease_expiries: 4 } });
  });
});

describe("keyOfDownloadUrl", () => {
  it("takes the R2 key out of a signed link", () => {
    expect(keyOfDownloadUrl("http://h:1/files/out/tsk_a.default/lse_b/0?exp=1&sig=x")).toBe("out/tsk_a.default/lse_b/0");
  });
});

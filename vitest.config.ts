import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleManifests } from "./scripts/bundle-manifests.ts";
import { buildWebAssets } from "./scripts/build-web.ts";
import { TEST_BINDINGS } from "./edge/test/bindings.ts";

// The edge imports the manifests as a generated module; build (and validate) it first.
bundleManifests();
// wrangler.toml's [assets] directory (the playground and /docs) must exist before the pool reads it.
buildWebAssets();

export default defineConfig({
  test: {
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    projects: [
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: TEST_BINDINGS } })],
        test: {
          name: "edge",
          include: ["edge/**/*.test.ts"],
          // Durable Object WebSocket tests share one runtime: no per-file isolation, one worker.
          isolate: false,
          fileParallelism: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["shared/**/*.test.ts", "agent/**/*.test.ts", "sim/**/*.test.ts", "clients/**/*.test.ts", "install/**/*.test.ts", "bench/**/*.test.ts", "chaos/**/*.test.ts", "e2e/**/*.test.ts", "scripts/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

import { defineConfig } from "vitest/config";

/**
 * `npm run test:cluster`: the fault scenarios on multi-node clusters. One file at a time,
 * so each scenario has the machine's two cores to itself and its timings mean something.
 */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    // Scenarios are *.scenario.ts, so `npm test` (every *.test.ts) does not run them.
    include: ["test/cluster/**/*.scenario.ts"],
    globalSetup: "test/support/global-setup.ts",
    pool: "forks",
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 180_000,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // canvas (chart rendering) segfaults in worker threads: keep the forks pool.
    pool: "forks",
    testTimeout: 30_000,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});

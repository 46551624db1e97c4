import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // tfjs keeps one process-global engine; tests that use it run in forks, one file per worker.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})

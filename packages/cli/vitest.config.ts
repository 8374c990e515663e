import { defineConfig } from "vitest/config"
import { coverage } from "../../vitest.shared.ts"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    coverage,
    globalSetup: ["test/support/globalSetup.ts"],
    // The server tests share one moto and reset it: files run one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

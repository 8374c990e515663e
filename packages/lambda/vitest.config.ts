import { defineConfig } from "vitest/config"
import { coverage } from "../../vitest.shared.ts"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    coverage,
    globalSetup: ["test/support/globalSetup.ts"],
    // The end-to-end test resets moto; files run one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 600_000
  }
})

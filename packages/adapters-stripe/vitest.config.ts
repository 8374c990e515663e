import { defineConfig } from "vitest/config"
import { coverage } from "../../vitest.shared.ts"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    coverage,
    // Installs (once) and starts stripe-mock; the run fails if it cannot.
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

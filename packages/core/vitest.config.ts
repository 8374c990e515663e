import { defineConfig } from "vitest/config"
import { coverage } from "../../vitest.shared.ts"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    coverage,
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

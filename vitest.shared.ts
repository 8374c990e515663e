// Settings every package's vitest.config.ts shares. Coverage is off by default (a plain `vitest run`
// stays fast); `npm test` turns it on with `--coverage.enabled`, so it comes from the one test run.
import type { CoverageOptions } from "vitest/node"

/** v8 coverage of the package's own sources; test-all.sh prints each package's json-summary. */
export const coverage: CoverageOptions = {
  provider: "v8",
  include: ["src/**/*.ts"],
  exclude: ["src/**/*.d.ts"],
  reporter: ["text-summary", "json-summary"],
  reportOnFailure: true
}

// The demo's simulated month (shortened) with the customer side of issue 12: spend alerts and a
// customer capped at its spend cap, the invariants (the cap's included) holding.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulation } from "../src/index.js"

describe("the simulated month", () => {
  it.effect(
    "has spend alerts and a capped customer whose capped usage is never billed; the invariants hold",
    () =>
      Effect.gen(function*() {
        const report = yield* Simulation.run({ customers: 8, days: 12, seed: 42 })
        assert.deepStrictEqual(report.violations, [])
        const capped = report.customers.filter((c) => c.planChanges.some((p) => p.endsWith("METERED -> CAPPED")))
        assert.strictEqual(capped.length, 1)
        assert.isAbove(capped[0]!.unitsCapped, 0)
        assert.strictEqual(capped[0]!.unitsBilled, capped[0]!.unitsMetered)
        assert.isAbove(report.customers.flatMap((c) => c.alerts).length, 0)
        const text = Simulation.format(report)
        assert.include(text, "invariants: HELD")
        for (const line of Simulation.INVARIANTS) assert.include(text, line)
      }),
    300_000
  )
})

// The hourly sync converges plan membership: a candidate's key left in no plan or the wrong one (a
// webhook killed between its record write and its key move, a move throttled past its retries) is put
// where its record says within one run, and usage it counted in the metered plan is billed first.
import { UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { Driver } from "../src/index.js"
import { apiKeyId, customerId, FREE, METERED, settleOk, signUpMetered, T0, testLayer } from "./support.js"

const sync = settleOk(UsageSync.syncUsage())

// Customer 1 promoted at T0, then its key put in `plans` behind the record's back; the clock moves on
// past the repair grace (a webhook that wrote the record has long finished or been killed).
const metered1KeyIn = (plans: ReadonlyArray<typeof FREE>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    yield* signUpMetered(1)
    driver.state.membership.set(apiKeyId(1), new Set(plans))
    yield* TestClock.adjust("10 minutes")
    return driver
  })

describe("the sync repairs plan membership", () => {
  it.effect("a metered record whose key was left in the free plan is moved into the metered plan", () =>
    Effect.gen(function*() {
      const driver = yield* metered1KeyIn([FREE])
      const report = yield* sync
      assert.strictEqual(report.plansRepaired, 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
      // Converged: the next run finds nothing to repair.
      assert.strictEqual((yield* sync).plansRepaired, 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a metered record whose key is in no plan is put into the metered plan", () =>
    Effect.gen(function*() {
      const driver = yield* metered1KeyIn([])
      const report = yield* sync
      assert.strictEqual(report.plansRepaired, 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a demoted record whose key stayed metered: its usage is billed, then the key moved to free", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      // The demotion's record write landed; the key move never ran.
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      driver.state.records.set(customerId(1), {
        ...record,
        plan: "FREE",
        settleUntil: T0 + 3_600_000,
        generation: (record.generation ?? 0) + 1,
        version: record.version + 1,
        updatedAt: T0
      })
      yield* TestClock.adjust("10 minutes")
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 42 })
      const report = yield* sync
      assert.strictEqual(report.plansRepaired, 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: UtcDay.fromMillis(T0) }), 42)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a record written within the grace is left to the webhook writing it; the next run repairs it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      driver.state.membership.set(apiKeyId(1), new Set([FREE]))
      const early = yield* sync
      assert.strictEqual(early.plansRepaired, 0)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* sync).plansRepaired, 1)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [METERED])
    }).pipe(Effect.provide(testLayer())))

  it.effect("keys where their records say cost one metered-plan listing, no call per customer", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (const n of [1, 2, 3]) yield* signUpMetered(n)
      yield* TestClock.adjust("10 minutes")
      yield* driver.resetCalls
      const report = yield* sync
      assert.strictEqual(report.plansRepaired, 0)
      const calls = yield* driver.calls
      assert.strictEqual(calls["PlanAdmin.keysPage"], 1)
      assert.isUndefined(calls["PlanAdmin.plansOf"])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a dry run moves no key", () =>
    Effect.gen(function*() {
      const driver = yield* metered1KeyIn([FREE])
      const report = yield* settleOk(UsageSync.syncUsage({ dryRun: true }))
      assert.strictEqual(report.plansRepaired, 0)
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
    }).pipe(Effect.provide(testLayer())))
})

// A sync run with a deadline: it stops starting customers early enough to commit the ones it started,
// says so, and the next run starts with the customers it left, so a run that cannot get through
// everyone never starves the same ones hour after hour.
import { SyncRun, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, FastCheck as fc, Option, TestClock } from "effect"
import { Driver } from "../src/index.js"
import { apiKeyId, customerId, settle, settleOk, signUpMetered, T0, testLayer } from "./support.js"

const numRuns = Number(process.env.FC_NUM_RUNS ?? 10)
// What one Stripe meter event call takes here: the deadline is counted in these.
const LATENCY = Duration.seconds(10)
const L = Duration.toMillis(LATENCY)

const reportedToday = (n: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver.Driver
    const record = Option.getOrThrow(yield* driver.record(customerId(n)))
    return record.ledger[UtcDay.fromMillis(yield* Clock.currentTimeMillis)] ?? 0
  })

// A run whose deadline lets it start `k` customers one after another (each takes one Stripe call).
const runStarting = (k: number) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const deadline = now + Duration.toMillis(SyncRun.DRAIN_RESERVE) + (k - 1) * L + L / 2
    return yield* Effect.flatten(settle(UsageSync.syncUsage({ deadline }), "5 seconds"))
  })

const customers = (count: number) => Array.from({ length: count }, (_, i) => i + 1)

describe("a sync run with a deadline", () => {
  it.effect("stops starting customers before it, commits the ones it started and reports the rest as left", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (const n of customers(6)) yield* signUpMetered(n)
      for (const n of customers(6)) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: 10 * n })
      yield* driver.setLatency("Stripe.reportUsage", LATENCY)
      const report = yield* runStarting(3)
      assert.isTrue(report.stoppedEarly)
      assert.strictEqual(report.customersReported, 3)
      assert.strictEqual(report.customersLeft, 3)
      assert.strictEqual(report.customersSeen, 3)
      // Every started customer committed: no report left pending, nothing half done.
      for (const n of customers(6)) {
        const record = Option.getOrThrow(yield* driver.record(customerId(n)))
        assert.isUndefined(record.pending)
      }
      // The run ended before its deadline (the drain reserve was left for the started customers).
      assert.isAtMost(report.finishedAt, T0 + Duration.toMillis(SyncRun.DRAIN_RESERVE) + 3 * L)
      // The next run, without a deadline, reports the customers this one left.
      yield* driver.setLatency("Stripe.reportUsage", undefined)
      const next = yield* settleOk(UsageSync.syncUsage())
      assert.isFalse(next.stoppedEarly)
      assert.strictEqual(next.customersReported, 3)
      for (const n of customers(6)) assert.strictEqual(yield* reportedToday(n), 10 * n)
    }).pipe(Effect.provide(testLayer({ syncConcurrency: 1 }))))

  it.effect("a run whose deadline is already inside the reserve starts nobody and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (const n of customers(2)) yield* signUpMetered(n)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 5 })
      const report = yield* settleOk(UsageSync.syncUsage({ deadline: T0 + 1_000 }))
      assert.isTrue(report.stoppedEarly)
      assert.strictEqual(report.customersLeft, 2)
      assert.strictEqual(report.unitsReported, 0)
      assert.strictEqual(yield* reportedToday(1), 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("by default a run after a whole day without runs still bills the last hours before it", () =>
    Effect.gen(function*() {
      // Last run at 22:00 on the 29th; usage at 23:00; no run on the 30th at all; next run 00:30 on the 31st.
      yield* TestClock.setTime(Date.parse("2026-03-29T22:00:00Z"))
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* settleOk(UsageSync.syncUsage())
      yield* TestClock.setTime(Date.parse("2026-03-29T23:00:00Z"))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 70 })
      yield* TestClock.setTime(Date.parse("2026-03-31T00:30:00Z"))
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.unitsReported, 70)
      assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: UtcDay.UtcDay.make("2026-03-29") }), 70)
    }).pipe(Effect.provide(testLayer())))

  it.effect.prop(
    "no customer goes unsynced for more than two runs while a run gets through half of them",
    {
      count: fc.integer({ min: 2, max: 8 }),
      share: fc.double({ min: 0.5, max: 1, noNaN: true }),
      runs: fc.integer({ min: 2, max: 5 })
    },
    ({ count, runs, share }) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const driver = yield* Driver.Driver
        const all = customers(count)
        for (const n of all) yield* signUpMetered(n)
        yield* driver.setLatency("Stripe.reportUsage", LATENCY)
        const capacity = Math.max(1, Math.ceil(count * share))
        const missed = new Map(all.map((n) => [n, 0]))
        for (let run = 0; run < runs; run++) {
          // Every customer has new usage every hour: each one costs the run a Stripe call.
          for (const n of all) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: 1 })
          const before = yield* Effect.forEach(all, reportedToday)
          const report = yield* runStarting(capacity)
          assert.strictEqual(report.customersReported, capacity)
          const after = yield* Effect.forEach(all, reportedToday)
          for (const [i, n] of all.entries()) {
            const gap = after[i]! > before[i]! ? 0 : missed.get(n)! + 1
            // Synced in this run or the one before: never two runs in a row without.
            assert.isAtMost(gap, 1, `customer ${n} unsynced for ${gap + 1} runs`)
            missed.set(n, gap)
          }
          yield* TestClock.adjust("1 hour")
        }
      }).pipe(Effect.provide(testLayer({ syncConcurrency: 1 }))),
    { fastCheck: { numRuns } }
  )
})

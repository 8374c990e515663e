// A fan-out worker's meter events through Stripe's v2 meter event stream (issue 10): gathered a hundred
// to a request, validated by Stripe after it answers (docs.stripe.com/api/v2/billing-meter-stream),
// deduplicated by identifier like v1, and every unit still billed once through duplicate and crashed
// deliveries.
import { FanOut, HandleEvent, Ids, MeterBatch, Stripe, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc, Fiber, Scope, TestClock } from "effect"
import { Driver, ThinEvents } from "../src/index.js"
import {
  apiKeyId,
  arbitraryDeliveries,
  arbitraryUnits,
  customerId,
  deliverTwoRuns,
  nowSeconds,
  settleOk,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"

const numRuns = Number(process.env.FC_NUM_RUNS ?? 10)
const TODAY = UtcDay.fromMillis(T0)
const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1)
// As the template runs a worker: every customer of an item at once.
const workerLayer = testLayer({ syncConcurrency: FanOut.ENTRIES_PER_ITEM })

// Customers 1..units.length metered, customer n with `units[n - 1]` today, and the coordinator's items.
const plannedWith = (units: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    for (const n of range(units.length)) yield* signUpMetered(n)
    for (const n of range(units.length)) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: units[n - 1]! })
    yield* driver.resetCalls
    return { driver, items: (yield* settleOk(FanOut.plan())).items }
  })

const billed = (driver: Driver.DriverService, count: number) =>
  Effect.forEach(range(count), (n) => driver.billed({ customerId: customerId(n), day: TODAY }))
const sent = (driver: Driver.DriverService, count: number) =>
  Effect.forEach(
    range(count),
    (n) => Effect.map(driver.meterEvents(customerId(n)), (events) => events.reduce((sum, e) => sum + e.value, 0))
  )

describe("MeterBatch: the fan-out's meter events on the v2 stream", () => {
  it.effect("an item of 100 customers is one stream request, not 100 v1 calls; an item of 20 stays on v1", () =>
    Effect.gen(function*() {
      const units = range(120).map((n) => n % 7 + 1)
      const { driver, items } = yield* plannedWith(units)
      assert.deepStrictEqual(items.map((item) => item.entries.length), [100, 20])
      yield* driver.resetCalls
      const big = yield* settleOk(FanOut.work(items[0]!))
      const afterBig = yield* driver.calls
      assert.strictEqual(big.customersReported, 100)
      assert.strictEqual(afterBig["Stripe.reportUsageBatch"], 1)
      assert.isUndefined(afterBig["Stripe.reportUsage"])
      yield* driver.resetCalls
      const small = yield* settleOk(FanOut.work(items[1]!))
      const afterSmall = yield* driver.calls
      assert.strictEqual(small.customersReported, 20)
      // Fewer than Stripe.MIN_STREAM_BATCH: each customer's own v1 call, with v1's answers.
      assert.isBelow(20, Stripe.MIN_STREAM_BATCH)
      assert.strictEqual(afterSmall["Stripe.reportUsage"], 20)
      assert.isUndefined(afterSmall["Stripe.reportUsageBatch"])
      assert.deepStrictEqual(yield* billed(driver, 120), units)
      assert.deepStrictEqual(yield* sent(driver, 120), units)
    }).pipe(Effect.provide(workerLayer)))

  it.effect("a failed stream request fails every report of it; each customer's retry sends it again, billed once", () =>
    Effect.gen(function*() {
      const units = range(60).map((n) => n)
      const { driver, items } = yield* plannedWith(units)
      yield* driver.failNext("Stripe.reportUsageBatch", {
        error: new Stripe.StripeError({ reason: "RateLimited", message: "Too many requests" })
      })
      const counts = yield* settleOk(FanOut.work(items[0]!))
      assert.strictEqual(counts.customersFailed, 0)
      // The retries are jittered apart: they go out in later gatherings, on the stream or on v1.
      const calls = yield* driver.calls
      assert.isAbove((calls["Stripe.reportUsageBatch"] ?? 0) + (calls["Stripe.reportUsage"] ?? 0), 1)
      assert.deepStrictEqual(yield* billed(driver, 60), units)
      assert.deepStrictEqual(yield* sent(driver, 60), units)
    }).pipe(Effect.provide(workerLayer)))

  it.effect("a stream request refused for good sends each report alone through v1: only a refused one fails", () =>
    Effect.gen(function*() {
      const units = range(60).map((n) => n)
      const { driver, items } = yield* plannedWith(units)
      yield* driver.failNext("Stripe.reportUsageBatch", {
        error: new Stripe.StripeError({ reason: "InvalidRequest", message: "timestamp is too far in the past" })
      })
      const counts = yield* settleOk(FanOut.work(items[0]!))
      assert.strictEqual(counts.customersFailed, 0)
      assert.strictEqual((yield* driver.calls)["Stripe.reportUsage"], 60)
      assert.deepStrictEqual(yield* billed(driver, 60), units)
    }).pipe(Effect.provide(workerLayer)))

  it.effect(
    "a customer deleted in Stripe is accepted by the stream and rejected later: committed as billed, then flagged for reconcile by the meter error report",
    () =>
      Effect.gen(function*() {
        const units = range(60).map(() => 10)
        const { driver, items } = yield* plannedWith(units)
        yield* driver.deleteStripeCustomer(customerId(7))
        const counts = yield* settleOk(FanOut.work(items[0]!))
        // v1 would refuse it at once and write it off (customerDeleted.test.ts); the stream answers first.
        assert.deepStrictEqual([counts.customersFailed, counts.unitsReported, counts.unitsUnbillable], [0, 600, 0])
        assert.deepStrictEqual(yield* driver.meterEvents(customerId(7)), [])
        const report = yield* ThinEvents.streamErrorReport({ created: yield* nowSeconds })
        assert.isDefined(report)
        const outcome = yield* settleOk(HandleEvent.handleEvent(report))
        assert.strictEqual(outcome._tag, "MeterErrorReport")
        assert.deepStrictEqual(driver.state.records.get(customerId(7))?.reconcileDays, [TODAY])
        assert.isUndefined(driver.state.records.get(customerId(8))?.reconcileDays)
        assert.isUndefined(yield* ThinEvents.streamErrorReport({ created: yield* nowSeconds }))
      }).pipe(Effect.provide(workerLayer))
  )

  it.effect("MeterBatch.make answers each caller with its own result, in one reportUsageBatch", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      for (const n of range(Stripe.MIN_STREAM_BATCH)) yield* signUpMetered(n)
      const driver = yield* Driver.Driver
      yield* driver.resetCalls
      const stripe = yield* Stripe.Stripe
      const timestamp = Math.floor(T0 / 1000)
      const results = yield* settleOk(Effect.scoped(Effect.flatMap(
        MeterBatch.make(stripe, { window: "25 millis" }),
        (batched) =>
          Effect.forEach(
            range(Stripe.MIN_STREAM_BATCH),
            (n) =>
              batched.reportUsage({
                customerId: customerId(n),
                value: n,
                identifier: Ids.MeterEventIdentifier.make(`id-${n}`),
                timestamp
              }),
            { concurrency: "unbounded" }
          )
      )))
      assert.deepStrictEqual(results, range(Stripe.MIN_STREAM_BATCH).map(() => "Accepted"))
      assert.strictEqual((yield* driver.calls)["Stripe.reportUsageBatch"], 1)
      assert.deepStrictEqual(yield* sent(driver, Stripe.MIN_STREAM_BATCH), range(Stripe.MIN_STREAM_BATCH))
    }).pipe(Effect.provide(testLayer())))

  it.effect("a report still waiting when the gathering's scope closes is not sent, and its caller is interrupted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      const driver = yield* Driver.Driver
      yield* driver.resetCalls
      const scope = yield* Scope.make()
      const batched = yield* Scope.extend(MeterBatch.make(yield* Stripe.Stripe, { window: "1 second" }), scope)
      const timestamp = Math.floor(T0 / 1000)
      const caller = yield* Effect.fork(batched.reportUsage({
        customerId: customerId(1),
        value: 5,
        identifier: Ids.MeterEventIdentifier.make("id-waiting"),
        timestamp
      }))
      // The TestClock does not move: the gathering waits out its window when the scope closes.
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(caller)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(yield* driver.calls, {})
    }).pipe(Effect.provide(testLayer())))

  it.effect.prop(
    "duplicate, concurrent and crashed deliveries of stream-sized items bill each unit once",
    {
      count: fc.integer({ min: Stripe.MIN_STREAM_BATCH, max: 70 }),
      usage: arbitraryUnits(80),
      more: arbitraryUnits(80),
      deliveries: arbitraryDeliveries(5)
    },
    ({ count, deliveries, more, usage }) =>
      Effect.gen(function*() {
        // Items of up to 100 customers: at least MIN_STREAM_BATCH meter events gathered, on the stream.
        const { billed, expected, sent } = yield* deliverTwoRuns({ count, usage, more, deliveries })
        assert.deepStrictEqual(billed, expected)
        assert.deepStrictEqual(sent, expected)
      }).pipe(Effect.provide(workerLayer)),
    // Unshrunk on failure: each history syncs 50-70 customers, and shrinking them would outlast the timeout.
    { timeout: 600_000, fastCheck: { numRuns, endOnFailure: true } }
  )
})

/**
 * The flows under GetUsage's undocumented behaviours (issue 14): whether a key removed from a plan keeps
 * its history in that plan's GetUsage, and whether a re-added key's counter restarts, is not documented
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html); counts show 30-40 minutes late
 * (localstack/localstack#11393).
 */
import { HandleEvent, KeyMove, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { Driver, MemoryState, StripeEvents } from "../src/index.js"
import {
  apiKeyId,
  customerId,
  FREE,
  heldSubscription,
  METERED,
  nowSeconds,
  settleOk,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"

const today = UtcDay.fromMillis(T0)

describe("a key whose history GetUsage dropped", () => {
  for (const removedKey of ["kept", "dropped"] as const) {
    it.effect(`is reported by the sync, not hidden nor taken for a count that went down: ${removedKey}`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const driver = yield* Driver.Driver
        yield* driver.setUsageModel({ delayMillis: MemoryState.REPORTING_DELAY_MILLIS, removedKey })
        yield* signUpMetered(1)
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 10 })
        yield* TestClock.adjust("41 minutes")
        yield* settleOk(UsageSync.syncUsage())
        // 3 more units, then a final payment failure: the demotion's read cannot see them yet.
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 3 })
        yield* settleOk(HandleEvent.handleEvent(StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: yield* nowSeconds
        })))
        yield* TestClock.adjust("41 minutes")
        const report = yield* settleOk(UsageSync.syncUsage())
        assert.deepStrictEqual(report.anomalies, [])
        assert.deepStrictEqual(
          [report.customersHistoryVanished, report.historyVanished],
          removedKey === "dropped" ? [1, [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]] : [0, []]
        )
        assert.strictEqual(
          yield* driver.billed({ customerId: customerId(1), day: today }),
          removedKey === "dropped" ? 10 : 13
        )
      }).pipe(Effect.provide(testLayer())))
  }
})

describe("a key put back into the metered plan with its counter reset", () => {
  it.effect("gets its baseline from the next event when the move that added it stopped before taking it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* driver.setUsageModel({ delayMillis: MemoryState.REPORTING_DELAY_MILLIS, readdedKey: "reset" })
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 10 })
      yield* TestClock.adjust("41 minutes")
      yield* settleOk(UsageSync.syncUsage())
      // A move out and back in whose process stopped after the add, its mark written: the counter
      // restarted at 0 under a ledger of 10.
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      driver.state.records.set(customerId(1), { ...record, baselineDue: "Readd" })
      yield* settleOk(KeyMove.moveKey({ apiKeyId: apiKeyId(1), from: METERED, to: FREE }))
      yield* settleOk(KeyMove.moveKey({ apiKeyId: apiKeyId(1), from: FREE, to: METERED }))
      // Any event for the customer converges; its key is already in place.
      yield* settleOk(HandleEvent.handleEvent(StripeEvents.invoiceCreated({
        customerId: customerId(1),
        subscriptionId: yield* heldSubscription(1),
        created: yield* nowSeconds
      })))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 5 })
      yield* TestClock.adjust("41 minutes")
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.deepStrictEqual(report.anomalies, [])
      assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: today }), 15)
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).baselineDue)
    }).pipe(Effect.provide(testLayer())))
})

// Issue 14: a loss that cannot be made exact is reported, not only logged. Under "reset" the units counted
// within the delay before the key is put back are gone; the next sync says whose key it was, once.
describe("a key whose counter restarted when it was put back", () => {
  for (const readdedKey of ["kept", "reset"] as const) {
    it.effect(`is counted in the next sync's report, once: ${readdedKey}`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const driver = yield* Driver.Driver
        yield* driver.setUsageModel({ delayMillis: MemoryState.REPORTING_DELAY_MILLIS, readdedKey })
        yield* signUpMetered(1)
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 10 })
        yield* TestClock.adjust("41 minutes")
        yield* settleOk(UsageSync.syncUsage())
        // 2 more units, then a detach and a new card 20 minutes later: the re-add hides the old counter.
        yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 2 })
        yield* driver.setPaymentMethods(customerId(1), 0)
        yield* settleOk(HandleEvent.handleEvent(
          StripeEvents.paymentMethodDetached({ customerId: customerId(1), created: yield* nowSeconds })
        ))
        yield* TestClock.adjust("20 minutes")
        yield* driver.setPaymentMethods(customerId(1), 1)
        yield* settleOk(HandleEvent.handleEvent(
          StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: yield* nowSeconds })
        ))
        yield* TestClock.adjust("41 minutes")
        const first = yield* settleOk(UsageSync.syncUsage())
        const second = yield* settleOk(UsageSync.syncUsage())
        const reset = readdedKey === "reset"
        assert.deepStrictEqual(
          [first.customersCounterReset, first.counterReset],
          reset ? [1, [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]] : [0, []]
        )
        assert.deepStrictEqual([second.customersCounterReset, second.counterReset], [0, []])
        assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: today }), reset ? 10 : 12)
      }).pipe(Effect.provide(testLayer())))
  }
})

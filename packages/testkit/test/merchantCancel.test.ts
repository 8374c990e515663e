/**
 * The merchant cancels our subscription themselves, in the Dashboard or with their own API call (issue
 * 9). Cancelling "does not generate a final invoice" unless `invoice_now` is set, and stops automatic
 * collection of the customer's finalized invoices (docs.stripe.com/api/subscriptions/cancel); Stripe
 * announces it with `customer.subscription.deleted`. The customer is demoted like any other whose
 * subscription ended, and the usage the subscription had not invoiced is on no invoice: the merchant's
 * choice, which the invariants allow for such a cancel and for nothing else.
 */
import { HandleEvent, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Driver, Invariants, StripeEvents, StripeMemory } from "../src/index.js"
import { apiKeyId, customerId, FREE, METERED, nowSeconds, settleOk, signUpMetered, T0, testLayer } from "./support.js"

const customers = [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]

describe("a subscription the merchant cancels (issue 9)", () => {
  it.effect("demotes the customer; the usage it had not invoiced is on no invoice, allowed only for that cancel", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      const driver = yield* Driver.Driver
      const { state } = driver
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 40 })
      yield* TestClock.adjust("1 minute")
      const subscriptionId = state.records.get(customerId(1))!.subscriptionId!
      StripeMemory.merchantCancel(state, subscriptionId, (yield* nowSeconds) * 1000)
      const outcome = yield* settleOk(HandleEvent.handleEvent(StripeEvents.subscriptionDeleted({
        customerId: customerId(1),
        subscriptionId,
        created: yield* nowSeconds
      })))
      assert.strictEqual(outcome._tag, "Applied")
      const demoted = state.records.get(customerId(1))!
      assert.strictEqual(demoted.plan, "FREE")
      assert.deepStrictEqual([...state.membership.get(apiKeyId(1))!], [FREE])
      // The demotion still reported what the key counted while metered: Stripe took it, no invoice holds it.
      assert.strictEqual(Invariants.billed(state, customerId(1), UtcDay.fromMillis(T0)), 40)
      const [event] = state.meterEvents
      assert.lengthOf(Invariants.invoicesOf(state, event!), 0)
      assert.isTrue(Invariants.lostToMerchantCancel(state, event!))
      yield* TestClock.adjust("3 hours")
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.customersFailed, 0)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
      // Had this library cancelled it without a final invoice, the same state would be a violation.
      state.subscriptions.get(subscriptionId)!.canceledByMerchant = false
      assert.match(Invariants.violations(state, customers, METERED).join("; "), /is on no subscription's invoice/)
    }).pipe(Effect.provide(testLayer())))
})

/**
 * A customer deleted in Stripe while usage is unreported (issue 9, history 4). Deleting a customer
 * "immediately cancels any current subscriptions on the customer" with no final invoice
 * (docs.stripe.com/api/customers/delete), and Stripe refuses meter events naming it from then on: the
 * units can be billed to no one. The sync writes them off (`Customer.unbillable`) instead of failing the
 * customer in every run, and the customer's settle window still closes.
 */
import { CustomerUsage, HandleEvent, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Driver, Invariants, StripeEvents, ThinEvents } from "../src/index.js"
import { apiKeyId, customerId, METERED, nowSeconds, settle, settleOk, signUpMetered, T0, testLayer } from "./support.js"

const customers = [{ customerId: customerId(1), apiKeyId: apiKeyId(1) }]

// Customer 1 promoted, 100 units counted in the metered plan, then deleted in Stripe before any sync.
const deletedWithUnreportedUsage = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  yield* signUpMetered(1)
  const driver = yield* Driver.Driver
  yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 100 })
  yield* TestClock.adjust("1 minute")
  yield* driver.deleteStripeCustomer(customerId(1))
  return driver
})

describe("a customer deleted in Stripe with unreported usage (issue 9, history 4)", () => {
  it.effect("the sync writes the units off as unbillable instead of failing the customer in every run", () =>
    Effect.gen(function*() {
      const { state } = yield* deletedWithUnreportedUsage
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.customersFailed, 0)
      assert.strictEqual(report.unitsReported, 0)
      assert.strictEqual(report.unitsUnbillable, 100)
      assert.deepStrictEqual(report.unbillable, [{ customerId: customerId(1), units: 100 }])
      const record = state.records.get(customerId(1))!
      assert.isUndefined(record.pending)
      assert.deepStrictEqual(Object.values(record.unbillable ?? {}), [100])
      // In the ledger (never reported again), but not what Stripe accepted: the usage view and alerts say 0.
      assert.strictEqual(CustomerUsage.reportedOn(record, Object.keys(record.ledger) as Array<UtcDay.UtcDay>), 0)
      // Written off once: the next run has nothing more to say about them.
      const again = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(again.customersFailed, 0)
      assert.strictEqual(again.unitsUnbillable, 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("the customer.deleted demotion moves the key and its settle window closes; the invariants hold", () =>
    Effect.gen(function*() {
      const { state } = yield* deletedWithUnreportedUsage
      const created = yield* nowSeconds
      const subscriptionId = state.records.get(customerId(1))!.subscriptionId!
      // Stripe announces the cancellation of the customer's subscriptions and the deletion itself.
      yield* settleOk(HandleEvent.handleEvent(StripeEvents.subscriptionDeleted({
        customerId: customerId(1),
        subscriptionId,
        created
      })))
      yield* settleOk(HandleEvent.handleEvent(StripeEvents.customerDeleted({ customerId: customerId(1), created })))
      const demoted = state.records.get(customerId(1))!
      assert.strictEqual(demoted.plan, "FREE")
      assert.isUndefined(demoted.pending)
      // API Gateway counts late within the settle window: also unbillable.
      yield* (yield* Driver.Driver).addUsage({ apiKeyId: apiKeyId(1), units: 7, usagePlanId: METERED })
      yield* TestClock.adjust("3 hours")
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.customersFailed, 0)
      const closed = state.records.get(customerId(1))!
      assert.isUndefined(closed.settleUntil)
      assert.strictEqual(Object.values(closed.unbillable ?? {}).reduce((a, b) => a + b, 0), 107)
      assert.deepStrictEqual(Invariants.violations(state, customers, METERED), [])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a report Stripe accepted before a crash, resent after the deletion, is committed as billed, not written off", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      const driver = yield* Driver.Driver
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 100 })
      // Stripe takes the meter event, then the sync dies before its commit: the report stays pending.
      yield* driver.failNext("Stripe.reportUsage", { when: "after", die: true })
      yield* settle(UsageSync.syncUsage())
      assert.isDefined(driver.state.records.get(customerId(1))!.pending)
      yield* driver.deleteStripeCustomer(customerId(1))
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.customersFailed, 0)
      assert.strictEqual(report.unitsUnbillable, 0)
      assert.strictEqual(report.unitsReported, 100)
      const record = driver.state.records.get(customerId(1))!
      assert.isUndefined(record.pending)
      assert.isUndefined(record.unbillable)
    }).pipe(Effect.provide(testLayer())))

  it.effect("if v1 accepts a deleted customer's event and rejects it later (check 11's other reading), the report is committed as billed and the meter error report flags the day for reconcile", () =>
    Effect.gen(function*() {
      const { state } = yield* deletedWithUnreportedUsage
      state.v1ValidatesCustomerLater = true
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.deepStrictEqual([report.customersFailed, report.unitsReported, report.unitsUnbillable], [0, 100, 0])
      const record = state.records.get(customerId(1))!
      assert.isUndefined(record.pending)
      assert.isUndefined(record.unbillable)
      // Stripe counted nothing: the ledger says billed, the meter says 0, and the error report says why.
      assert.deepStrictEqual(state.meterEvents, [])
      const errorReport = yield* ThinEvents.streamErrorReport({ created: yield* nowSeconds })
      assert.isDefined(errorReport)
      const outcome = yield* settleOk(HandleEvent.handleEvent(errorReport))
      assert.strictEqual(outcome._tag, "MeterErrorReport")
      assert.deepStrictEqual(state.records.get(customerId(1))!.reconcileDays, [UtcDay.fromMillis(T0)])
      // Nothing is resent: the next run has nothing more to report.
      const again = yield* settleOk(UsageSync.syncUsage())
      assert.deepStrictEqual([again.customersFailed, again.meterEventsSent], [0, 0])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a customer Stripe never knew (another account's key) fails its report; nothing is written off", () =>
    Effect.gen(function*() {
      const { state } = yield* deletedWithUnreportedUsage
      // Not deleted: unknown. getCustomer answers 404 too, as for a key of another account.
      state.stripeCustomers.delete(customerId(1))
      const report = yield* settleOk(UsageSync.syncUsage())
      assert.strictEqual(report.customersFailed, 1)
      assert.strictEqual(report.unitsUnbillable, 0)
      const record = state.records.get(customerId(1))!
      assert.isDefined(record.pending)
      assert.isUndefined(record.unbillable)
    }).pipe(Effect.provide(testLayer())))

  it.effect("invariant: units written off for a customer Stripe still has are a violation", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      const { state } = yield* Driver.Driver
      const record = state.records.get(customerId(1))!
      state.records.set(customerId(1), { ...record, unbillable: { "2026-03-31": 5 } as typeof record.ledger })
      const broken = Invariants.violations(state, customers, METERED)
      assert.isTrue(broken.some((line) => line.includes("not deleted in Stripe")), broken.join("; "))
    }).pipe(Effect.provide(testLayer())))
})

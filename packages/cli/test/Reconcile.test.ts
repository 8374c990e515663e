// `reconcile` and the customer-days Stripe's meter error reports flagged (`reconcileDays`, core's
// MeterErrors): Stripe accepts a meter event with 200 and may reject it later
// (docs.stripe.com/billing/subscriptions/usage-based/recording-usage-api, "Handle meter event errors").
import { BillingConfig, Customer, Ids, UsageSync, UtcDay } from "@augint-billing/core"
import { Driver, Memory } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import * as Reconcile from "../src/Reconcile.js"

const T0 = Date.UTC(2026, 2, 31, 10)
const today = UtcDay.fromMillis(T0)
const customerId = Ids.CustomerId.make("cus_rec1")
const apiKeyId = Ids.ApiKeyId.make("key_rec1")
const METERED = Ids.UsagePlanId.make("METERED")

// A metered customer with 40 units reported today, and the days a meter error report flagged.
const billedAndFlagged = (flagged: ReadonlyArray<UtcDay.UtcDay>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    const c = yield* driver.signUp({ customerId, apiKeyId, paymentMethods: 1 })
    driver.state.records.set(customerId, { ...c, plan: "METERED" })
    driver.state.membership.set(apiKeyId, new Set([METERED]))
    yield* driver.addUsage({ apiKeyId, units: 40 })
    yield* UsageSync.syncUsage()
    const record = driver.state.records.get(customerId)!
    driver.state.records.set(customerId, { ...record, reconcileDays: [...flagged] } satisfies Customer.Customer)
    return driver
  })

const layer = Layer.merge(Memory.layerMemory(), BillingConfig.layer())

describe("reconcile and meter error flags", () => {
  it.effect("a flagged day is drift even when the numbers agree; --fix clears the flag once Stripe holds the ledger", () =>
    Effect.gen(function*() {
      const driver = yield* billedAndFlagged([today])
      const report = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: false })
      assert.deepStrictEqual(report.rows.map((r) => [r.day, r.drift]), [[today, ["meter-error"]]])
      assert.isTrue((yield* Effect.either(Reconcile.check(report)))._tag === "Left")
      assert.deepStrictEqual(driver.state.records.get(customerId)!.reconcileDays, [today])

      const fixed = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: true })
      assert.strictEqual(fixed.fixed?.flagsCleared, 1)
      assert.isUndefined(driver.state.records.get(customerId)!.reconcileDays)
      const after = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: false })
      assert.deepStrictEqual(after.rows, [])
    }).pipe(Effect.provide(layer)))

  it.effect("a flagged day where Stripe holds less than the ledger keeps its flag; flags outside the range are listed", () =>
    Effect.gen(function*() {
      const old = UtcDay.add(today, -20)
      const driver = yield* billedAndFlagged([today, old])
      // Stripe holds less than the ledger for today: the rejected event's units are missing there.
      const record = driver.state.records.get(customerId)!
      driver.state.records.set(customerId, { ...record, ledger: { ...record.ledger, [today]: 55 } })
      const report = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: true })
      assert.deepStrictEqual(report.flaggedOutside, [{ customerId, day: old }])
      assert.includeMembers([...report.rows.find((r) => r.day === today)!.drift], ["meter-error", "stripe-mismatch"])
      assert.strictEqual(report.fixed?.flagsCleared, 0)
      assert.deepStrictEqual(
        Option.fromNullable(driver.state.records.get(customerId)!.reconcileDays).pipe(Option.getOrElse(() => [])),
        [today, old]
      )
      assert.include(Reconcile.format(report), `--from ${old}`)
    }).pipe(Effect.provide(layer)))

  // Units written off for a customer deleted in Stripe are in the ledger and were never accepted:
  // reconcile compares Stripe with the ledger less them, so they are not drift.
  it.effect("units written off as unbillable are not a mismatch with Stripe", () =>
    Effect.gen(function*() {
      const driver = yield* billedAndFlagged([])
      yield* driver.addUsage({ apiKeyId, units: 25 })
      yield* driver.deleteStripeCustomer(customerId)
      yield* UsageSync.syncUsage()
      const record = driver.state.records.get(customerId)!
      assert.deepStrictEqual([Customer.reported(record, today), record.unbillable?.[today]], [65, 25])
      const report = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: false })
      assert.deepStrictEqual(report.rows, [])
      // The same ledger without the write-off would be drift: Stripe holds 40 of 65.
      driver.state.records.set(customerId, { ...record, unbillable: undefined })
      const drifted = yield* Reconcile.reconcile({ from: UtcDay.add(today, -6), to: today, fix: false })
      assert.deepStrictEqual(drifted.rows.map((r) => [r.day, r.stripe, r.drift]), [[today, 40, ["stripe-mismatch"]]])
    }).pipe(Effect.provide(layer)))
})

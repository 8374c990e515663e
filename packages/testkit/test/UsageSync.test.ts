import { CustomerRepo, HandleEvent, type Ids, Stripe, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, TestClock } from "effect"
import { Driver, StripeEvents } from "../src/index.js"
import {
  apiKeyId,
  customerId,
  FREE,
  heldSubscription,
  METERED,
  settle,
  settleOk,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"

const day = (s: string) => UtcDay.UtcDay.make(s)
const TODAY = day("2026-03-31")

const billed = (n: number, d: UtcDay.UtcDay) =>
  Effect.flatMap(Driver.Driver, (driver) => driver.billed({ customerId: customerId(n), day: d }))

const sync = settleOk(UsageSync.syncUsage())

// Remove customer n's link (what `ai-billing customers unlink --force` does).
const unlink = (n: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver.Driver
    const repo = yield* CustomerRepo.CustomerRepo
    yield* repo.remove(Option.getOrThrow(yield* driver.record(customerId(n))))
  })

// Customer 1, metered, with 150 units reported today.
const billed150 = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const driver = yield* Driver.Driver
  yield* signUpMetered(1)
  yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 150 })
  yield* sync
  return { driver, repo: yield* CustomerRepo.CustomerRepo }
})

describe("syncUsage", () => {
  it.effect("reports each customer's new units once, per day, and nothing twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (const n of [1, 2, 3]) yield* signUpMetered(n)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 100 })
      yield* driver.addUsage({ apiKeyId: apiKeyId(2), units: 5 })
      const first = yield* sync
      assert.strictEqual(first.customersSeen, 3)
      assert.strictEqual(first.customersReported, 2)
      assert.strictEqual(first.customersSkipped, 1)
      assert.strictEqual(first.unitsReported, 105)
      assert.strictEqual(first.usagePagesRead, 1)
      const second = yield* sync
      assert.strictEqual(second.unitsReported, 0)
      assert.strictEqual(second.meterEventsSent, 0)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 50 })
      yield* TestClock.adjust("1 hour")
      const third = yield* sync
      assert.strictEqual(third.unitsReported, 50)
      assert.strictEqual(yield* billed(1, TODAY), 150)
      assert.strictEqual(yield* billed(2, TODAY), 5)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.ledger[TODAY], 150)
      assert.isUndefined(record.pending)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a crash after Stripe accepted but before the commit is resent with the same identifier: billed once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 40 })
      // The second write of the run is the commit: let the write-ahead through, crash on the commit.
      yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
      const crashed = yield* settle(UsageSync.syncUsage())
      assert.isTrue(Exit.isFailure(crashed))
      assert.strictEqual((yield* driver.meterEvents(customerId(1))).length, 1)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isDefined(record.pending)
      const next = yield* sync
      assert.strictEqual(next.customersFailed, 0)
      assert.strictEqual(yield* billed(1, TODAY), 40)
      assert.strictEqual((yield* driver.meterEvents(customerId(1))).length, 1)
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(1))).pending)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a pending report is resent before new usage is reported, so no unit is billed twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 40 })
      yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
      assert.isTrue(Exit.isFailure(yield* settle(UsageSync.syncUsage())))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 2 })
      const next = yield* sync
      assert.strictEqual(next.unitsReported, 42)
      assert.strictEqual(yield* billed(1, TODAY), 42)
      assert.deepStrictEqual((yield* driver.meterEvents(customerId(1))).map((e) => e.value), [40, 2])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a meter event that took effect but answered with an error is not billed twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 9 })
      yield* driver.failNext("Stripe.reportUsage", { when: "after", times: 10 })
      const failed = yield* sync
      assert.strictEqual(failed.customersFailed, 1)
      assert.match(failed.failures[0]!.reason, /StripeError\(Server\)/)
      const next = yield* sync
      assert.strictEqual(next.customersFailed, 0)
      assert.strictEqual(yield* billed(1, TODAY), 9)
    }).pipe(Effect.provide(testLayer())))

  it.effect("two overlapping runs never report the same units twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (let n = 1; n <= 20; n++) {
        yield* signUpMetered(n)
        yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: n * 10 })
      }
      yield* driver.setLatency("Stripe.reportUsage", "300 millis")
      yield* driver.setLatency("CustomerRepo.update", "100 millis")
      const [a, b] = yield* settleOk(Effect.all([UsageSync.syncUsage(), UsageSync.syncUsage()], { concurrency: 2 }))
      assert.strictEqual(a.customersFailed + b.customersFailed, 0)
      for (let n = 1; n <= 20; n++) assert.strictEqual(yield* billed(n, TODAY), n * 10)
      assert.strictEqual(a.unitsReported + b.unitsReported, 2_100)
    }).pipe(Effect.provide(testLayer())))

  it.effect("usage from just before midnight is reported after midnight, stamped inside its own day", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-30T23:50:00Z"))
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 30 })
      yield* TestClock.adjust("20 minutes")
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 4 })
      const report = yield* sync
      assert.deepStrictEqual(report.days, [day("2026-03-29"), day("2026-03-30"), TODAY])
      assert.strictEqual(yield* billed(1, day("2026-03-30")), 30)
      assert.strictEqual(yield* billed(1, TODAY), 4)
      const events = yield* driver.meterEvents(customerId(1))
      const late = events.find((e) => e.value === 30)!
      assert.strictEqual(late.timestamp, UtcDay.endMillis(day("2026-03-30")) / 1000 | 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a month boundary is a day boundary like any other", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-31T23:30:00Z"))
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 8 })
      yield* sync
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 2 })
      yield* TestClock.adjust("1 hour")
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 5 })
      yield* sync
      assert.strictEqual(yield* billed(1, TODAY), 10)
      assert.strictEqual(yield* billed(1, day("2026-04-01")), 5)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a count that went down is flagged, never billed negative", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 20 })
      yield* sync
      driver.state.usage.get(METERED)!.get(apiKeyId(1))!.set(TODAY, 15)
      const report = yield* sync
      assert.deepStrictEqual(report.anomalies, [{ customerId: customerId(1), day: TODAY, observed: 15, reported: 20 }])
      assert.strictEqual(report.unitsReported, 0)
      assert.strictEqual(yield* billed(1, TODAY), 20)
    }).pipe(Effect.provide(testLayer())))

  it.effect("one customer's permanent failure does not stop the others", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (const n of [1, 2, 3]) {
        yield* signUpMetered(n)
        yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: 3 })
      }
      yield* driver.failNext("Stripe.reportUsage", {
        error: new Stripe.StripeError({ reason: "InvalidRequest", message: "no such meter" })
      })
      const report = yield* sync
      assert.strictEqual(report.customersFailed, 1)
      assert.strictEqual(report.customersReported, 2)
      assert.match(report.failures[0]!.reason, /InvalidRequest/)
      // The failed customer's report stays pending and goes out with the next run.
      const failedId = report.failures[0]!.customerId
      assert.isDefined(Option.getOrThrow(yield* driver.record(failedId)).pending)
      const again = yield* sync
      assert.strictEqual(again.customersFailed, 0)
      for (const n of [1, 2, 3]) assert.strictEqual(yield* billed(n, TODAY), 3)
    }).pipe(Effect.provide(testLayer({ syncConcurrency: 1 }))))

  it.effect("a transient usage read failure is retried", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 6 })
      yield* driver.failNext("UsageSource.getUsagePage", { times: 2 })
      const report = yield* sync
      assert.strictEqual(report.unitsReported, 6)
      assert.strictEqual((yield* driver.calls)["UsageSource.getUsagePage"], 3)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a dry run reports what it would send and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 12 })
      const before = Option.getOrThrow(yield* driver.record(customerId(1)))
      const report = yield* settleOk(UsageSync.syncUsage({ dryRun: true }))
      assert.isTrue(report.dryRun)
      assert.strictEqual(report.unitsReported, 12)
      assert.strictEqual((yield* driver.meterEvents()).length, 0)
      assert.deepStrictEqual(Option.getOrThrow(yield* driver.record(customerId(1))), before)
    }).pipe(Effect.provide(testLayer())))

  it.effect("late counts after a demotion are reported by the sync that closes the settle window", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 10 })
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: Math.floor(T0 / 1000) + 60
        })
      ))
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), [FREE])
      // API Gateway counts 7 more metered requests late.
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 7, usagePlanId: METERED })
      yield* TestClock.adjust("2 hours")
      const report = yield* sync
      assert.strictEqual(report.unitsReported, 7)
      assert.strictEqual(yield* billed(1, TODAY), 17)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.isUndefined(record.settleUntil)
      const after = yield* sync
      assert.strictEqual(after.customersSeen, 0)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a customer unlinked and linked again the same day is billed only for what comes after", () =>
    Effect.gen(function*() {
      const { driver, repo } = yield* billed150
      // Demoted, the window closed, unlinked ...
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.invoicePaymentFailed({
          customerId: customerId(1),
          subscriptionId: yield* heldSubscription(1),
          created: Math.floor(T0 / 1000) + 60
        })
      ))
      yield* TestClock.adjust("2 hours")
      yield* sync
      yield* unlink(1)
      // ... linked again to the same key, and promoted again.
      const relinked = yield* UsageSync.newLink({ customerId: customerId(1), apiKeyId: apiKeyId(1) })
      assert.deepStrictEqual(relinked.ledger, { [TODAY]: 150 })
      yield* repo.create(relinked)
      yield* TestClock.adjust("1 minute")
      yield* settleOk(HandleEvent.handleEvent(
        StripeEvents.setupIntentSucceeded({ customerId: customerId(1), created: Math.floor(T0 / 1000) + 3 * 3600 })
      ))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 20 })
      const report = yield* sync
      assert.strictEqual(report.unitsReported, 20)
      assert.strictEqual(yield* billed(1, TODAY), 170)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a customer linked to another key the same day is billed for the new key's usage in full", () =>
    Effect.gen(function*() {
      const { driver, repo } = yield* billed150
      // The operator moves the customer to a new key (force-unlink while metered, link the new key).
      yield* unlink(1)
      yield* driver.createApiKey(apiKeyId(9), METERED)
      const relinked = yield* UsageSync.newLink({ customerId: customerId(1), apiKeyId: apiKeyId(9) })
      assert.deepStrictEqual(relinked.ledger, {})
      yield* repo.create({ ...relinked, plan: "METERED" })
      yield* driver.addUsage({ apiKeyId: apiKeyId(9), units: 150, usagePlanId: METERED })
      yield* sync
      // The same total on the same day under another key is a new meter event, not a duplicate.
      assert.strictEqual(yield* billed(1, TODAY), 300)
    }).pipe(Effect.provide(testLayer())))

  it.effect("a key handed to another customer: an old pending report Stripe accepted is not resent", () =>
    Effect.gen(function*() {
      const { driver, repo } = yield* billed150
      // The key goes to customer 2 the same day (customer 1 unlinked with its usage billed).
      yield* unlink(1)
      yield* driver.createStripeCustomer(customerId(2), 1)
      const linked = yield* UsageSync.newLink({ customerId: customerId(2), apiKeyId: apiKeyId(1) })
      assert.deepStrictEqual(linked.ledger, { [TODAY]: 150 })
      assert.deepStrictEqual(linked.stripeOffset, { [TODAY]: -150 })
      yield* repo.create({ ...linked, plan: "METERED" })
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 20 })
      // Stripe accepts the report; the commit is lost; the sync does not run again for a day.
      yield* driver.failNext("CustomerRepo.update", { skip: 1, die: true })
      assert.isTrue(Exit.isFailure(yield* settle(UsageSync.syncUsage())))
      assert.strictEqual(yield* billed(2, TODAY), 20)
      yield* TestClock.adjust("25 hours")
      yield* sync
      assert.strictEqual(yield* billed(2, TODAY), 20)
      assert.isUndefined(Option.getOrThrow(yield* driver.record(customerId(2))).pending)
    }).pipe(Effect.provide(testLayer())))

  it.effect("usage pages: one ranged read per plan, ceil(keys/500) pages", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      for (let n = 1; n <= 1_001; n++) {
        const c = yield* driver.signUp({ customerId: customerId(n), apiKeyId: apiKeyId(n), paymentMethods: 1 })
        driver.state.records.set(c.customerId, { ...c, plan: "METERED" })
        driver.state.membership.set(c.apiKeyId, new Set([METERED as Ids.UsagePlanId]))
        yield* driver.addUsage({ apiKeyId: c.apiKeyId, units: 1 })
      }
      const report = yield* sync
      assert.strictEqual(report.usagePagesRead, 3)
      assert.strictEqual(report.meterEventsSent, 1_001)
      assert.strictEqual((yield* driver.calls)["UsageSource.getUsagePage"], 3)
    }).pipe(Effect.provide(testLayer())))
})

import {
  CardLink,
  CustomerSettings,
  CustomerUsage,
  HandleEvent,
  type Ids,
  Stripe,
  UsageSync,
  UtcDay
} from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, TestClock } from "effect"
import { Driver, StripeMemory } from "../src/index.js"
import { apiKeyId, customerId, settleOk, signUp, signUpMetered, T0, testLayer } from "./support.js"

const layer = (settings: Partial<CustomerSettings.Settings> = {}) =>
  Layer.merge(
    testLayer(),
    CustomerSettings.layer({ cardLinkSuccessUrl: "https://seller.example/card-added", ...settings })
  )
const day = (s: string) => UtcDay.UtcDay.make(s)

describe("CustomerUsage", () => {
  it.effect("a free customer: the quota period's usage, today's, what is left; no Stripe call", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 700, day: day("2026-03-02") })
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 300, day: day("2026-02-27") }) // last month: not counted
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 50 })
      yield* driver.resetCalls
      const view = yield* CustomerUsage.usageOf(customerId(1))
      assert.deepStrictEqual(view.period, { start: day("2026-03-01"), end: day("2026-03-31") })
      assert.strictEqual(view.plan, "FREE")
      assert.strictEqual(view.periodUnits, 750)
      assert.strictEqual(view.todayUnits, 50)
      assert.deepStrictEqual(view.freeQuota, { limit: 10_000, period: "MONTH", remaining: 9_250 })
      assert.strictEqual(view.unitsToReport, 0)
      assert.isUndefined(view.projectedInvoice)
      const calls = yield* driver.calls
      assert.strictEqual(calls["UsageSource.getUsagePage"], 1)
      assert.isUndefined(calls["Stripe.previewInvoice"])
    }).pipe(Effect.provide(layer())))

  it.effect("a daily free quota counts today only, and never goes below zero", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 80, day: day("2026-03-30") })
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 120 })
      const view = yield* CustomerUsage.usageOf(customerId(1))
      assert.deepStrictEqual(view.freeQuota, { limit: 100, period: "DAY", remaining: 0 })
      assert.strictEqual(view.periodUnits, 120)
    }).pipe(Effect.provide(layer({ freeQuota: { limit: 100, period: "DAY" } }))))

  it.effect("a metered customer: reported, still to report, and Stripe's projected invoice for the period", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 1_234 })
      yield* settleOk(UsageSync.syncUsage())
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 66 })
      const view = yield* CustomerUsage.usageOfKey(apiKeyId(1))
      assert.strictEqual(view.customerId, customerId(1))
      assert.strictEqual(view.plan, "METERED")
      assert.strictEqual(view.periodUnits, 1_300)
      assert.strictEqual(view.todayUnits, 1_300)
      assert.strictEqual(view.unitsReported, 1_234)
      assert.strictEqual(view.unitsToReport, 66)
      assert.isUndefined(view.freeQuota)
      // 1,234 units at 0.1 cent each: 123.4 cents, rounded to a whole cent as Stripe rounds a line amount.
      assert.deepStrictEqual(view.projectedInvoice, {
        currency: "usd",
        total: 123,
        amountDue: 123,
        units: 1_234,
        periodStart: Math.floor(T0 / 1000),
        periodEnd: Date.parse("2026-04-30T10:00:00.000Z") / 1000
      })
      assert.deepStrictEqual(view.period, { start: day("2026-03-31"), end: day("2026-03-31") })
    }).pipe(Effect.provide(layer())))

  it.effect("a key or id linked to no customer is UnknownCustomer", () =>
    Effect.gen(function*() {
      const byKey = yield* Effect.exit(CustomerUsage.usageOfKey("nokey" as Ids.ApiKeyId))
      const byId = yield* Effect.exit(CustomerUsage.usageOf(customerId(9)))
      for (const exit of [byKey, byId]) {
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "UnknownCustomer")
      }
    }).pipe(Effect.provide(layer())))
})

describe("StripeMemory.previewInvoice", () => {
  it("periods are monthly from the subscription's creation, the day clamped to the month's end", () => {
    const jan31 = Date.parse("2026-01-31T08:00:00.000Z")
    assert.strictEqual(new Date(StripeMemory.addMonths(jan31, 1)).toISOString(), "2026-02-28T08:00:00.000Z")
    assert.strictEqual(new Date(StripeMemory.addMonths(jan31, 2)).toISOString(), "2026-03-31T08:00:00.000Z")
    const p = StripeMemory.currentPeriod(jan31, Date.parse("2026-03-01T00:00:00.000Z"))
    assert.deepStrictEqual([new Date(p.start).toISOString(), new Date(p.end).toISOString()], [
      "2026-02-28T08:00:00.000Z",
      "2026-03-31T08:00:00.000Z"
    ])
  })

  it.effect("bills only the current period's meter events; a canceled subscription has no preview", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      const subscriptionId = record.subscriptionId!
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 40 })
      yield* settleOk(UsageSync.syncUsage())
      // A month later the next period has begun: the 40 units were on the previous invoice.
      yield* TestClock.setTime(Date.parse("2026-04-30T11:00:00.000Z"))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 25 })
      yield* settleOk(UsageSync.syncUsage())
      const stripe = yield* Stripe.Stripe
      const preview = yield* stripe.previewInvoice({ customerId: customerId(1), subscriptionId })
      assert.strictEqual(preview.units, 25)
      assert.strictEqual(preview.periodStart, Date.parse("2026-04-30T10:00:00.000Z") / 1000)
      yield* stripe.cancelSubscription({ subscriptionId, invoiceNow: true })
      const canceled = yield* Effect.flip(stripe.previewInvoice({ customerId: customerId(1), subscriptionId }))
      assert.strictEqual(canceled.reason, "InvalidRequest")
    }).pipe(Effect.provide(layer())))
})

describe("CardLink", () => {
  it.effect("a free customer's link is a setup-mode session; completing it promotes the customer", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUp(1)
      const link = yield* CardLink.cardLink(customerId(1))
      assert.match(link.url, /^https:\/\/checkout\.stripe\.com\//)
      assert.strictEqual(link.expiresAt, T0 / 1000 + 86_400)
      // Asked again the same day (a retry, a second visit): the same session, not a new one.
      yield* TestClock.adjust("2 hours")
      assert.deepStrictEqual(yield* CardLink.cardLink(customerId(1)), link)
      assert.strictEqual(driver.state.setupSessions.size, 1)
      const [session] = driver.state.setupSessions.values()
      const event = StripeMemory.completeSetupSession(driver.state, session!.id, (T0 / 1000) + 7_200)
      assert.isDefined(event)
      // A completed session is not completed twice.
      assert.isUndefined(StripeMemory.completeSetupSession(driver.state, session!.id, (T0 / 1000) + 7_201))
      const outcome = yield* settleOk(HandleEvent.handleEvent(event))
      assert.strictEqual(outcome._tag, "Applied")
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.strictEqual(record.plan, "METERED")
      assert.deepStrictEqual(yield* driver.plansOf(apiKeyId(1)), ["METERED" as Ids.UsagePlanId])
    }).pipe(Effect.provide(layer())))

  it.effect("no link for a metered customer, nor without CARD_LINK_SUCCESS_URL", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      yield* signUp(2)
      const metered = yield* Effect.flip(CardLink.cardLink(customerId(1)))
      assert.strictEqual(metered.reason, "NotFree")
      const unset = yield* Effect.flip(
        CardLink.cardLink(customerId(2)).pipe(Effect.provide(CustomerSettings.layer()))
      )
      assert.strictEqual(unset.reason, "NotConfigured")
      const unknown = yield* Effect.flip(CardLink.cardLink(customerId(3)))
      assert.strictEqual(unknown.reason, "UnknownCustomer")
    }).pipe(Effect.provide(layer())))
})

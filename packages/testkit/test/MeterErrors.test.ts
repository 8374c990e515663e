import { HandleEvent, MeterErrors, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { Driver, ThinEvents } from "../src/index.js"
import { apiKeyId, customerId, nowSeconds, settleOk, signUpMetered, T0, testLayer } from "./support.js"

// Stripe accepts meter events (200) and validates them later; the ones it rejects are reported by the
// thin events v1.billing.meter.error_report_triggered / v1.billing.meter.no_meter_found, whose full
// body (GET /v2/core/events/:id) lists sample errors with each request's identifier
// (docs.stripe.com/api/v2/core/events/event-types).

const day = UtcDay.fromMillis(T0)
const yesterday = UtcDay.add(day, -1)
const identifierOf = (n: number, d: UtcDay.UtcDay, total: number) =>
  UsageSync.identifierFor(customerId(n), apiKeyId(n), d, total)

const reconcileDays = (n: number) =>
  Effect.map(Driver.Driver, ({ state }) => state.records.get(customerId(n))?.reconcileDays)

describe("meter error reports", () => {
  it("an identifier names its customer-day; a hashed or foreign one names none", () => {
    assert.deepStrictEqual(MeterErrors.customerDayOf(identifierOf(1, day, 40)), { customerId: customerId(1), day })
    assert.isUndefined(MeterErrors.customerDayOf(`ab2h:0123456789abcdef:${day}:40`))
    assert.isUndefined(MeterErrors.customerDayOf("someone-else:cus_1:2026-01-01"))
  })

  it.effect("flags the customer-days its samples name on their records, once per delivery", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      yield* signUpMetered(2)
      const report = yield* ThinEvents.meterErrorReport({
        created: yield* nowSeconds,
        rejected: [
          { identifier: identifierOf(1, day, 40), code: "meter_event_customer_not_found" },
          { identifier: identifierOf(1, yesterday, 7), code: "timestamp_too_far_in_past" },
          { identifier: identifierOf(3, day, 5), code: "meter_event_customer_not_found" },
          { identifier: `ab2h:0123456789abcdef:${day}:40`, code: "meter_event_invalid_value" }
        ]
      })
      const outcome = yield* settleOk(HandleEvent.handleEvent(report))
      assert.deepStrictEqual(outcome, HandleEvent.Outcome.MeterErrorReport({ eventId: report.id as never, flagged: 1 }))
      assert.deepStrictEqual(yield* reconcileDays(1), [yesterday, day])
      // Customer 2 was not named; customer 3 has no record.
      assert.isUndefined(yield* reconcileDays(2))
      const again = yield* settleOk(HandleEvent.handleEvent(report))
      assert.strictEqual(again._tag, "Duplicate")
    }).pipe(Effect.provide(testLayer())))

  it.effect("a later report adds its days to those already flagged", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* signUpMetered(1)
      for (const d of [day, yesterday, day]) {
        const report = yield* ThinEvents.meterErrorReport({
          created: yield* nowSeconds,
          type: "v1.billing.meter.no_meter_found",
          rejected: [{ identifier: identifierOf(1, d, 3), code: "no_meter" }]
        })
        yield* settleOk(HandleEvent.handleEvent(report))
      }
      assert.deepStrictEqual(yield* reconcileDays(1), [yesterday, day])
    }).pipe(Effect.provide(testLayer())))

  it.effect("another thin event type is Ignored; a report of the other mode is a decode error", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const other = {
        id: "evt_test_thin_other",
        object: "v2.core.event",
        type: "v2.core.account.updated",
        created: new Date(T0).toISOString(),
        livemode: false
      }
      assert.strictEqual((yield* settleOk(HandleEvent.handleEvent(other)))._tag, "Ignored")
      const live = yield* ThinEvents.meterErrorReport({ created: yield* nowSeconds, livemode: true, rejected: [] })
      const error = yield* Effect.flip(settleOk(HandleEvent.handleEvent(live)))
      assert.strictEqual(error._tag, "StripeEventDecodeError")
      assert.include(error.message, "live-mode event reached a test-mode key")
      assert.strictEqual(HandleEvent.classify(error), "reject")
    }).pipe(Effect.provide(testLayer())))

  it("flagged days older than the ledger's retention are dropped", () => {
    const record = {
      customerId: customerId(1),
      apiKeyId: apiKeyId(1),
      plan: "METERED" as const,
      ledger: {},
      reconcileDays: [UtcDay.add(day, -60)],
      version: 1,
      updatedAt: T0
    }
    const next = Option.getOrThrow(MeterErrors.withReconcileDays(record, [day], day))
    assert.deepStrictEqual(next.reconcileDays, [day])
    assert.isTrue(Option.isNone(MeterErrors.withReconcileDays(next, [day], day)))
  })
})

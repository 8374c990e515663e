/**
 * Spend alerts at 50/80/100 % of a customer's limit: once per threshold per UTC month, from the
 * ledger the sync commits, exactly once across overlapping syncs and sink failures (property).
 * FC_NUM_RUNS sets the histories (default 100).
 */
import { Customer, CustomerSettings, SpendAlerts, UsageSync, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Logger, LogLevel, Option, TestClock, TestContext } from "effect"
import { AlertSinkMemory, Driver } from "../src/index.js"
import { apiKeyId, customerId, settleOk, signUpMetered, T0, testLayer } from "./support.js"

const numRuns = Number(process.env.FC_NUM_RUNS ?? 100)
const LIMIT = 100

const layer = () =>
  SpendAlerts.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(testLayer(), AlertSinkMemory.layerMemory, CustomerSettings.layer({ alertUnits: LIMIT }))
    )
  )

const sync = settleOk(UsageSync.syncUsage())
const sent = Effect.map(AlertSinkMemory.AlertLog, (log) => log.alerts.map((a) => `${a.period}:${a.percent}`))

describe("SpendAlerts.decide", () => {
  const record = (alerts?: Customer.Customer["alerts"]): Customer.Customer => ({
    ...Customer.make({ customerId: customerId(1), apiKeyId: apiKeyId(1), now: T0 }),
    ...(alerts === undefined ? {} : { alerts })
  })
  const input = { now: T0, limit: 100, percents: [50, 80, 100] }

  it("crossed thresholds not yet sent are due; a new month starts with none sent", () => {
    assert.deepStrictEqual(SpendAlerts.decide(record(), { ...input, units: 80 }).due, [50, 80])
    assert.deepStrictEqual(SpendAlerts.decide(record({ period: "2026-03", sent: [50] }), { ...input, units: 80 }).due, [
      80
    ])
    assert.deepStrictEqual(
      SpendAlerts.decide(record({ period: "2026-02", sent: [50, 80] }), { ...input, units: 50 }).due,
      [50]
    )
    assert.deepStrictEqual(SpendAlerts.decide(record(), { ...input, units: 49 }).due, [])
  })

  it("alerts pending under a live writer are left to it; pending ones past RESEND_AFTER are resent", () => {
    const pending = (writtenAt: number) =>
      record({ period: "2026-03", sent: [], pending: { percents: [50], writtenAt } })
    const live = SpendAlerts.decide(pending(T0 - 60_000), { ...input, units: 100 })
    assert.deepStrictEqual([live.resend, live.due], [[], []])
    const stale = SpendAlerts.decide(pending(T0 - 11 * 60_000), { ...input, units: 100 })
    assert.deepStrictEqual([stale.resend, stale.due], [[50], [80, 100]])
  })
})

// Customer 1 metered, 60 units used and synced; the driver.
const synced60 = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const driver = yield* Driver.Driver
  yield* signUpMetered(1)
  yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 60 })
  yield* sync
  return driver
})

describe("spend alerts in the sync", () => {
  it.effect("each threshold once per month, from the reported ledger; the next month starts again", () =>
    Effect.gen(function*() {
      const driver = yield* synced60
      assert.deepStrictEqual(yield* sent, ["2026-03:50"])
      yield* sync
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 45 })
      yield* sync
      assert.deepStrictEqual(yield* sent, ["2026-03:50", "2026-03:80", "2026-03:100"])
      // Midnight UTC on April 1st: a new period.
      yield* TestClock.setTime(Date.parse("2026-04-01T00:30:00.000Z"))
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 55 })
      yield* sync
      const log = yield* AlertSinkMemory.AlertLog
      assert.deepStrictEqual(log.alerts.at(-1), {
        id: "ab-alert:cus_T1:2026-04:50",
        customerId: customerId(1),
        apiKeyId: apiKeyId(1),
        period: "2026-04",
        percent: 50,
        limitUnits: LIMIT,
        unitsUsed: 55,
        at: Date.parse("2026-04-01T00:30:00.000Z")
      })
    }).pipe(Effect.provide(layer())))

  it.effect("a record's own limit wins over SPEND_ALERT_UNITS", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      yield* signUpMetered(1)
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      driver.state.records.set(customerId(1), { ...record, alertUnits: 1_000 })
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 600 })
      yield* sync
      assert.deepStrictEqual(yield* sent, ["2026-03:50"])
    }).pipe(Effect.provide(layer())))

  it.effect("a default limit in money: 50 usd at 0.5 usd a unit is 100 units, and each alert says what the units cost", () =>
    Effect.gen(function*() {
      yield* synced60
      const log = yield* AlertSinkMemory.AlertLog
      assert.deepStrictEqual(log.alerts.map((a) => [a.percent, a.limitUnits, a.unitsUsed, a.amount]), [
        [50, 100, 60, { currency: "usd", limit: 50, used: 30 }]
      ])
    }).pipe(Effect.provide(
      SpendAlerts.layer.pipe(Layer.provideMerge(Layer.mergeAll(
        testLayer(),
        AlertSinkMemory.layerMemory,
        CustomerSettings.layer({
          unitPrice: { micros: 500_000, currency: "usd" },
          alertAmount: { micros: 50_000_000, currency: "usd" }
        })
      )))
    )))

  it.effect("a failed send stays pending and is resent, with the same id, by a sync after RESEND_AFTER", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const driver = yield* Driver.Driver
      const log = yield* AlertSinkMemory.AlertLog
      yield* signUpMetered(1)
      yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: 50 })
      log.failNext = 1
      yield* sync
      assert.deepStrictEqual(yield* sent, [])
      yield* sync // within RESEND_AFTER: the pending alert belongs to a writer that may still be at work
      assert.deepStrictEqual(yield* sent, [])
      yield* TestClock.adjust("11 minutes")
      yield* sync
      assert.deepStrictEqual(log.alerts.map((a) => a.id), ["ab-alert:cus_T1:2026-03:50"])
      const record = Option.getOrThrow(yield* driver.record(customerId(1)))
      assert.deepStrictEqual(record.alerts, { period: "2026-03", sent: [50] })
    }).pipe(Effect.provide(layer())))
})

// A history: usage, rounds of 1-3 overlapping syncs, time passing, sink failures.
type Step =
  | { readonly _tag: "Usage"; readonly units: number }
  | { readonly _tag: "Syncs"; readonly overlapping: number }
  | { readonly _tag: "Advance"; readonly minutes: number }
  | { readonly _tag: "SinkFails" }
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ _tag: fc.constant("Usage" as const), units: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ _tag: fc.constant("Syncs" as const), overlapping: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ _tag: fc.constant("Advance" as const), minutes: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ _tag: fc.constant("SinkFails" as const) })
)

describe("spend alerts under overlapping syncs (property)", () => {
  it("never send a threshold twice, and send every threshold crossed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const program = Effect.gen(function*() {
          yield* TestClock.setTime(T0)
          const driver = yield* Driver.Driver
          const log = yield* AlertSinkMemory.AlertLog
          yield* signUpMetered(1)
          for (const s of steps) {
            if (s._tag === "Usage") yield* driver.addUsage({ apiKeyId: apiKeyId(1), units: s.units })
            if (s._tag === "Advance") yield* TestClock.adjust(`${s.minutes} minutes`)
            if (s._tag === "SinkFails") log.failNext++
            if (s._tag === "Syncs") {
              yield* settleOk(Effect.all(Array.from({ length: s.overlapping }, () => UsageSync.syncUsage()), {
                concurrency: "unbounded"
              }))
            }
          }
          // Settle: failures spent, pending alerts past RESEND_AFTER, a last sync.
          log.failNext = 0
          yield* TestClock.adjust("11 minutes")
          yield* sync
          const units = yield* driver.billed({ customerId: customerId(1), day: UtcDay.UtcDay.make("2026-03-31") })
          const ids = log.alerts.map((a) => a.id)
          assert.strictEqual(new Set(ids).size, ids.length, `sent twice: ${ids.join(", ")}`)
          const expected = [50, 80, 100].filter((p) => units * 100 >= LIMIT * p)
          assert.deepStrictEqual(log.alerts.map((a) => a.percent).sort((a, b) => a - b), expected)
        }).pipe(Effect.provide(layer()))
        await Effect.runPromise(
          program.pipe(Effect.provide(TestContext.TestContext), Logger.withMinimumLogLevel(LogLevel.Warning))
        )
      }),
      { numRuns }
    )
  }, 600_000)
})

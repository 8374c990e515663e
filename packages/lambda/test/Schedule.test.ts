import { BillingConfig, Ids, SyncRun, UsageSource, UtcDay } from "@augint-billing/core"
import { Driver, Memory } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, ManagedRuntime, TestClock } from "effect"
import { Emf, LambdaRuntime, Schedule } from "../src/index.js"
import * as Events from "./support/Events.js"

const now = Date.UTC(2025, 10, 14, 22, 0, 0)
const customerId = Ids.CustomerId.make("cus_sched1")
const apiKeyId = Ids.ApiKeyId.make("key_sched1")
const METERED = Ids.UsagePlanId.make("METERED")

const lines: Array<string> = []
const metrics: Array<string> = []
const TestLayer = Layer.mergeAll(
  Memory.layerMemory(),
  BillingConfig.layer(),
  Emf.layer("schedule", { namespace: "AugintBillingTest", sink: (line) => void metrics.push(line) }),
  LambdaRuntime.layerLogger((line) => void lines.push(line))
)

interface Emf {
  readonly _aws: {
    readonly Timestamp: number
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string
      readonly Dimensions: ReadonlyArray<ReadonlyArray<string>>
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: string }>
    }>
  }
  readonly [metric: string]: unknown
}

// A metered customer with `units` requests today.
const meteredWithUsage = (units: number) =>
  Effect.gen(function*() {
    lines.length = 0
    metrics.length = 0
    yield* TestClock.setTime(now)
    const driver = yield* Driver.Driver
    const record = yield* driver.signUp({ customerId, apiKeyId, paymentMethods: 1 })
    driver.state.records.set(customerId, { ...record, plan: "METERED", version: record.version })
    driver.state.membership.set(apiKeyId, new Set([METERED]))
    yield* driver.addUsage({ apiKeyId, units })
    return driver
  })

describe("Schedule.handle", () => {
  it.effect("reports usage, logs the report as one JSON line and emits EMF metrics", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(1234)
      const report = yield* Schedule.handle(Events.scheduled())
      assert.deepStrictEqual([report.unitsReported, report.customersReported, report.customersFailed], [1234, 1, 0])
      assert.strictEqual(yield* driver.billed({ customerId, day: UtcDay.fromMillis(now) }), 1234)

      const logged = lines.map((l) => JSON.parse(l) as { message: unknown; annotations: Record<string, unknown> })
        .filter((l) => l.message === "usage sync report")
      assert.strictEqual(logged.length, 1)
      assert.deepStrictEqual(logged[0]!.annotations.report, report)
      assert.strictEqual(logged[0]!.annotations.scheduledEventId, Events.scheduled().id)

      assert.strictEqual(metrics.length, 1)
      const emf = JSON.parse(metrics[0]!) as Emf
      const directive = emf._aws.CloudWatchMetrics[0]!
      assert.strictEqual(directive.Namespace, "AugintBillingTest")
      assert.deepStrictEqual(directive.Dimensions, [["Function"]])
      assert.strictEqual(emf._aws.Timestamp, now)
      // Every declared metric has its value at the top level, as EMF requires.
      for (const m of directive.Metrics) assert.isNumber(emf[m.Name], m.Name)
      // Every counter of the schedule is written, zeros included.
      assert.sameMembers(
        directive.Metrics.map((m) => m.Name),
        Object.keys(Emf.units).filter((n) =>
          !Emf.webhookMetrics.has(n as Emf.MetricName) && !Emf.coordinatorMetrics.has(n as Emf.MetricName) &&
          !Emf.workerMetrics.has(n as Emf.MetricName)
        )
      )
      assert.deepStrictEqual(
        [
          emf.UnitsReported,
          emf.CustomersReported,
          emf.CustomersFailed,
          emf.SyncFailed,
          emf.SyncSucceeded,
          emf.Function
        ],
        [1234, 1, 0, 0, 1, "schedule"]
      )
      for (const m of directive.Metrics) assert.strictEqual(m.Unit, Emf.units[m.Name as Emf.MetricName], m.Name)
      assert.strictEqual(Emf.units.SyncDuration, "Milliseconds")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the same scheduled event delivered again reports nothing more (exactly-once)", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(50)
      const first = yield* Schedule.handle(Events.scheduled("evt-retry"))
      const second = yield* Schedule.handle(Events.scheduled("evt-retry"))
      assert.deepStrictEqual([first.unitsReported, second.unitsReported], [50, 0])
      // The reporter writes each run's increments: the second run counted no units.
      const docs = metrics.map((m) => JSON.parse(m) as Emf)
      assert.deepStrictEqual(docs.map((d) => [d.UnitsReported, d.SyncSucceeded]), [[50, 1], [0, 1]])
      assert.strictEqual(yield* driver.billed({ customerId, day: UtcDay.fromMillis(now) }), 50)
      assert.strictEqual((yield* driver.meterEvents(customerId)).length, 1)
    }).pipe(Effect.provide(TestLayer)))

  // Whether API Gateway keeps a removed key's history in its plan's GetUsage is not documented (issue 14):
  // under "dropped", what the key counted after the last read is never billed, and the metric says so.
  it.effect("a key whose GetUsage history vanished is counted as UsageHistoryVanished", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(50)
      yield* Schedule.handle(Events.scheduled("evt-before"))
      yield* driver.setUsageModel({ removedKey: "dropped" })
      driver.state.membership.set(apiKeyId, new Set())
      const report = yield* Schedule.handle(Events.scheduled("evt-after"))
      assert.deepStrictEqual(report.historyVanished, [{ customerId, apiKeyId }])
      const docs = metrics.map((m) => JSON.parse(m) as Emf)
      assert.deepStrictEqual(docs.map((d) => d.UsageHistoryVanished), [0, 1])
    }).pipe(Effect.provide(TestLayer)))

  // Whether a key re-added to a plan keeps its counter is not documented either (issue 14): a baseline that
  // found it restarted marks the record, and the next run counts it once as UsageCounterReset.
  it.effect("a key whose counter restarted on its re-add is counted once as UsageCounterReset", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(50)
      const record = driver.state.records.get(customerId)!
      driver.state.records.set(customerId, { ...record, counterResetAt: now })
      const first = yield* Schedule.handle(Events.scheduled("evt-reset"))
      yield* Schedule.handle(Events.scheduled("evt-after-reset"))
      assert.deepStrictEqual(first.counterReset, [{ customerId, apiKeyId }])
      const docs = metrics.map((m) => JSON.parse(m) as Emf)
      assert.deepStrictEqual(docs.map((d) => d.UsageCounterReset), [1, 0])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a run that cannot read usage fails (EventBridge retries) and emits SyncFailed", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(10)
      yield* driver.failNext("UsageSource.getUsagePage", {
        error: new UsageSource.UsageSourceError({ reason: "BadRequest", message: "Invalid Usage Plan ID specified" })
      })
      const exit = yield* Effect.exit(Schedule.handle(Events.scheduled()))
      assert.isTrue(Exit.isFailure(exit))
      const emf = JSON.parse(metrics[0]!) as Emf
      assert.deepStrictEqual([emf.SyncFailed, emf.SyncSucceeded, emf.UnitsReported], [1, 0, 0])
      assert.strictEqual(metrics.length, 1)
      assert.isTrue(lines.some((l) => l.includes("usage sync failed") && l.includes("Invalid Usage Plan ID")))
      assert.strictEqual(yield* driver.billed({ customerId, day: UtcDay.fromMillis(now) }), 0)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a run still going when its budget ends is stopped, logged, counted as SyncCutShort and fails", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(10)
      yield* driver.setLatency("UsageSource.getUsagePage", "5 minutes")
      const fiber = yield* Effect.fork(
        Effect.exit(Schedule.handle(Events.scheduled(), { budget: Duration.seconds(30) }))
      )
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.isTrue(lines.some((l) => l.includes("usage sync failed") && l.includes("SyncCutShort")))
      const docs = metrics.map((m) => JSON.parse(m) as Emf)
      assert.deepStrictEqual(docs.map((d) => [d.SyncCutShort, d.SyncFailed, d.SyncSucceeded]), [[1, 0, 0]])
      assert.strictEqual(yield* driver.billed({ customerId, day: UtcDay.fromMillis(now) }), 0)
    }).pipe(Effect.provide(TestLayer)))
})

describe("Schedule.handle with a budget", () => {
  it.effect("a run that starts nobody within SyncRun.DRAIN_RESERVE of its end succeeds, counted as SyncStoppedEarly", () =>
    Effect.gen(function*() {
      const driver = yield* meteredWithUsage(10)
      const report = yield* Schedule.handle(Events.scheduled(), { budget: SyncRun.DRAIN_RESERVE })
      assert.deepStrictEqual([report.stoppedEarly, report.customersLeft, report.unitsReported], [true, 1, 0])
      const docs = metrics.map((m) => JSON.parse(m) as Emf)
      assert.deepStrictEqual(
        docs.map((d) => [d.SyncStoppedEarly, d.CustomersLeft, d.SyncSucceeded, d.SyncCutShort]),
        [[1, 1, 1, 0]]
      )
      assert.strictEqual(yield* driver.billed({ customerId, day: UtcDay.fromMillis(now) }), 0)
      // With time to spare, the same run reports the customer and is not counted as stopped early.
      metrics.length = 0
      const full = yield* Schedule.handle(Events.scheduled(), { budget: Duration.minutes(5) })
      assert.deepStrictEqual([full.stoppedEarly, full.unitsReported], [false, 10])
      assert.strictEqual((JSON.parse(metrics[0]!) as Emf).SyncStoppedEarly, 0)
    }).pipe(Effect.provide(TestLayer)))
})

describe("Schedule.toHandler", () => {
  it("returns the encoded report; a failed run throws so that the invocation is retried", async () => {
    const runtime = ManagedRuntime.make(
      Layer.mergeAll(
        Memory.layerMemory(),
        BillingConfig.layer(),
        Emf.layer("schedule", { sink: () => {} }),
        LambdaRuntime.layerLogger(() => {})
      )
    )
    const handler = Schedule.toHandler(runtime)
    const report = await handler(Events.scheduled())
    assert.deepStrictEqual([report.customersSeen, report.unitsReported, report.dryRun], [0, 0, false])
    await runtime.runPromise(Effect.flatMap(Driver.Driver, (d) =>
      d.failNext("UsageSource.getUsagePage", {
        error: new UsageSource.UsageSourceError({ reason: "BadRequest", message: "no such plan" })
      })))
    let thrown: unknown
    await handler(Events.scheduled()).catch((e: unknown) => (thrown = e))
    await runtime.dispose()
    assert.instanceOf(thrown, Error)
    assert.match((thrown as Error).message, /^usage sync failed: SyncFailed: UsageSourceError: no such plan$/)
  })
})

// The fanned-out sync under what a queue does: SQS delivers at least once and out of order
// (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html),
// a worker killed mid-batch leaves it partly done and redelivered, and a slow run overlaps the next.
// Every unit is billed once and nobody is skipped.
import { CustomerRepo, FanOut, UtcDay } from "@augint-billing/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, TestClock } from "effect"
import { Driver } from "../src/index.js"
import {
  apiKeyId,
  arbitraryDeliveries,
  arbitraryUnits,
  customerId,
  deliverTwoRuns,
  settleOk,
  signUpMetered,
  T0,
  testLayer
} from "./support.js"

const numRuns = Number(process.env.FC_NUM_RUNS ?? 10)
const TODAY = UtcDay.fromMillis(T0)

const billedAll = (count: number) =>
  Effect.flatMap(
    Driver.Driver,
    (driver) => Effect.forEach(range(count), (n) => driver.billed({ customerId: customerId(n), day: TODAY }))
  )
const range = (count: number) => Array.from({ length: count }, (_, i) => i + 1)

// Customers 1..n metered, customer n with `units[n - 1]` today, and the coordinator's plan of them.
const plannedWith = (units: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    for (const n of range(units.length)) yield* signUpMetered(n)
    for (const n of range(units.length)) yield* driver.addUsage({ apiKeyId: apiKeyId(n), units: units[n - 1]! })
    return { driver, planned: yield* settleOk(FanOut.plan()) }
  })

describe("FanOut", () => {
  it.effect("plan cuts the candidates into items with each key's counts; work syncs them", () =>
    Effect.gen(function*() {
      const { planned } = yield* plannedWith([7, 14, 21])
      assert.strictEqual(planned.items.length, 1)
      assert.strictEqual(planned.usagePagesRead, 1)
      const entries = planned.items[0]!.entries
      assert.sameMembers(entries.map((e) => e.customerId), range(3).map(customerId))
      assert.isTrue(entries.every((e) => e.metered))
      const counts = yield* settleOk(FanOut.work(planned.items[0]!))
      assert.deepStrictEqual([counts.customersReported, counts.unitsReported, counts.customersFailed], [3, 42, 0])
      assert.deepStrictEqual(yield* billedAll(3), [7, 14, 21])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a customer unlinked and linked to another key after the plan is left to the next run", () =>
    Effect.gen(function*() {
      const { driver, planned } = yield* plannedWith([9])
      const record = driver.state.records.get(customerId(1))!
      driver.state.records.set(customerId(1), { ...record, apiKeyId: apiKeyId(99), version: record.version + 1 })
      const counts = yield* settleOk(FanOut.work(planned.items[0]!))
      assert.strictEqual(counts.customersSeen, 0)
      assert.deepStrictEqual(yield* billedAll(1), [0])
    }).pipe(Effect.provide(testLayer())))

  it.effect("work reads the item's records in one getMany, not a get a customer, and skips a record gone since", () =>
    Effect.gen(function*() {
      const { driver, planned } = yield* plannedWith([1, 2, 3, 4])
      // Customer 4 unlinked after the plan: its record is gone, its counts are no one's.
      driver.state.records.delete(customerId(4))
      yield* driver.resetCalls
      const counts = yield* settleOk(FanOut.work(planned.items[0]!))
      const calls = yield* driver.calls
      assert.strictEqual(calls["CustomerRepo.getMany"], 1)
      assert.isUndefined(calls["CustomerRepo.get"])
      assert.deepStrictEqual([counts.customersSeen, counts.unitsReported, counts.customersFailed], [3, 6, 0])
      assert.deepStrictEqual(yield* billedAll(3), [1, 2, 3])
    }).pipe(Effect.provide(testLayer())))

  it.effect("a transient getMany failure is retried (core's repository policy); the item then syncs", () =>
    Effect.gen(function*() {
      const { driver, planned } = yield* plannedWith([5])
      yield* driver.failNext("CustomerRepo.getMany", {
        error: new CustomerRepo.CustomerRepoError({ reason: "Throttled", message: "ThrottlingException" })
      })
      const counts = yield* settleOk(FanOut.work(planned.items[0]!))
      assert.strictEqual((yield* driver.calls)["CustomerRepo.getMany"], 2)
      assert.strictEqual(counts.unitsReported, 5)
    }).pipe(Effect.provide(testLayer())))

  it.effect.prop(
    "duplicate, reordered, concurrent and crashed deliveries of two overlapping runs bill each unit once",
    {
      count: fc.integer({ min: 1, max: 6 }),
      usage: arbitraryUnits(12),
      more: arbitraryUnits(12),
      // Each delivery: which run's item, how many copies at once, whether a worker dies mid-batch.
      deliveries: arbitraryDeliveries(8)
    },
    ({ count, deliveries, more, usage }) =>
      Effect.gen(function*() {
        // Small items, so that a run is several messages.
        const split = (item: FanOut.WorkItem) =>
          item.entries.map((entry): FanOut.WorkItem => ({ ...item, entries: [entry] }))
        const { billed, expected, sent } = yield* deliverTwoRuns({ count, usage, more, deliveries, split })
        assert.deepStrictEqual(billed, expected)
        assert.deepStrictEqual(sent, expected)
      }).pipe(Effect.provide(testLayer())),
    { timeout: 600_000, fastCheck: { numRuns } }
  )
})

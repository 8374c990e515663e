// The fanned-out sync's worker as an SQS event source mapping calls it, with ReportBatchItemFailures
// (docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): only the failed messages
// come back, and a message delivered twice in one batch bills nothing twice.
import { BillingConfig, FanOut, Ids, Stripe, UtcDay } from "@augint-billing/core"
import { Driver, Memory } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import type { SQSEvent, SQSRecord } from "aws-lambda"
import { Duration, Effect, Layer, Schema, TestClock } from "effect"
import { Emf, SyncWorker } from "../src/index.js"
import * as Metered from "./support/Metered.js"

const now = Date.UTC(2025, 10, 14, 22, 0, 0)
const customerId = (n: number) => Ids.CustomerId.make(`cus_work${n}`)
const apiKeyId = (n: number) => Ids.ApiKeyId.make(`key_work${n}`)

const message = (messageId: string, body: string): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: String(now),
    SenderId: "coordinator",
    ApproximateFirstReceiveTimestamp: String(now)
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:billing-sync-work",
  awsRegion: "us-east-1"
})

const encode = Schema.encodeSync(Schema.parseJson(FanOut.WorkItem))

// Metered customer n with `units` today.
const metered = (n: number, units: number) => Metered.metered(customerId(n), apiKeyId(n), units)

const emitted: Array<Record<string, unknown>> = []

describe("SyncWorker.handle", () => {
  it.effect("reports only the failed messages; a duplicate in the batch bills nothing twice", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const driver = yield* Driver.Driver
      yield* metered(1, 30)
      yield* metered(2, 12)
      const planned = yield* FanOut.plan()
      const [item] = planned.items
      const entry = (n: number) => item!.entries.find((e) => e.customerId === customerId(n))!
      const one = (n: number) => encode({ ...item!, entries: [entry(n)] })
      // Customer 2's meter event (the second Stripe call) is refused, as for a customer deleted in Stripe.
      yield* driver.failNext("Stripe.reportUsage", {
        error: new Stripe.StripeError({ reason: "InvalidRequest", message: "No such customer" }),
        skip: 1
      })
      const event: SQSEvent = {
        Records: [
          message("m-1", one(1)),
          message("m-2", one(2)),
          message("m-1-again", one(1)),
          message("m-garbage", "{\"not\":\"a work item\"}")
        ]
      }
      emitted.length = 0
      const response = yield* SyncWorker.handle(event)
      assert.sameMembers(response.batchItemFailures.map((f) => f.itemIdentifier), ["m-2", "m-garbage"])
      // One EMF document per invocation, under Function=worker: what the dashboard and alarms read.
      assert.lengthOf(emitted, 1)
      assert.deepInclude(emitted[0], {
        Function: "worker",
        WorkItemsSynced: 2,
        WorkItemsFailed: 2,
        WorkUnitsReported: 30
      })
      const today = UtcDay.fromMillis(now)
      assert.strictEqual(yield* driver.billed({ customerId: customerId(1), day: today }), 30)
      assert.strictEqual((yield* driver.meterEvents(customerId(1))).length, 1)
      assert.strictEqual(yield* driver.billed({ customerId: customerId(2), day: today }), 0)
      // Delivered again, the failed message goes through once Stripe accepts it.
      const again = yield* SyncWorker.handle({ Records: [message("m-2", one(2))] })
      assert.deepStrictEqual(again.batchItemFailures, [])
      assert.strictEqual(yield* driver.billed({ customerId: customerId(2), day: today }), 12)
    }).pipe(Effect.provide(Layer.mergeAll(
      Memory.layerMemory(),
      // On the TestClock nothing moves time: the worker gathers meter events without a window.
      BillingConfig.layer({ meterBatchWindow: Duration.zero }),
      Emf.layer("worker", { sink: (line) => emitted.push(JSON.parse(line) as Record<string, unknown>) })
    ))))

  // Deleting a customer cancels its subscriptions with no invoice and Stripe refuses its meter events
  // (docs.stripe.com/api/customers/delete): the worker writes the units off and says how many.
  it.effect("units of a customer deleted in Stripe are counted as WorkUnitsUnbillable, the item synced", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const driver = yield* Driver.Driver
      yield* metered(3, 9)
      yield* driver.deleteStripeCustomer(customerId(3))
      const [item] = (yield* FanOut.plan()).items
      emitted.length = 0
      const response = yield* SyncWorker.handle({ Records: [message("m-3", encode(item!))] })
      assert.deepStrictEqual(response.batchItemFailures, [])
      assert.deepInclude(emitted[0], { WorkItemsSynced: 1, WorkUnitsReported: 0, WorkUnitsUnbillable: 9 })
    }).pipe(Effect.provide(Layer.mergeAll(
      Memory.layerMemory(),
      // On the TestClock nothing moves time: the worker gathers meter events without a window.
      BillingConfig.layer({ meterBatchWindow: Duration.zero }),
      Emf.layer("worker", { sink: (line) => emitted.push(JSON.parse(line) as Record<string, unknown>) })
    ))))

  // GetUsage lists a key's counts only while it is in the plan asked about: a key whose reported
  // history is gone is flagged, not billed, and the worker says so in a metric and a log line.
  it.effect("a key whose GetUsage history vanished is counted as WorkUsageHistoryVanished", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      yield* metered(4, 6)
      const [item] = (yield* FanOut.plan()).items
      yield* SyncWorker.handle({ Records: [message("m-4", encode(item!))] })
      emitted.length = 0
      // The next run's coordinator finds no counts for the key (its history gone from GetUsage).
      const vanished = { ...item!, entries: item!.entries.map(({ counts: _, ...entry }) => entry) }
      const response = yield* SyncWorker.handle({ Records: [message("m-4b", encode(vanished))] })
      assert.deepStrictEqual(response.batchItemFailures, [])
      assert.deepInclude(emitted[0], { WorkItemsSynced: 1, WorkUnitsReported: 0, WorkUsageHistoryVanished: 1 })
    }).pipe(Effect.provide(Layer.mergeAll(
      Memory.layerMemory(),
      // On the TestClock nothing moves time: the worker gathers meter events without a window.
      BillingConfig.layer({ meterBatchWindow: Duration.zero }),
      Emf.layer("worker", { sink: (line) => emitted.push(JSON.parse(line) as Record<string, unknown>) })
    ))))
})

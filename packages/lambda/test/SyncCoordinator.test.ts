// The fanned-out sync end to end on moto's SQS: the coordinator plans and enqueues, the test receives
// the messages from moto as the event source mapping would and hands them to the worker, one of them
// twice (SQS delivers at least once: docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html);
// every customer is billed exactly once. Stripe, records and usage are the testkit's in-memory ports.
import { BillingConfig, FanOut, Ids, UtcDay } from "@augint-billing/core"
import { Driver, Memory } from "@augint-billing/testkit"
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import { assert, describe, it } from "@effect/vitest"
import type { SQSRecord } from "aws-lambda"
import { Duration, Effect, Layer, Schema, TestClock } from "effect"
import { Emf, SyncCoordinator, SyncWorker } from "../src/index.js"
import * as Metered from "./support/Metered.js"

const moto = {
  region: "us-east-1",
  endpoint: `http://127.0.0.1:${process.env.MOTO_PORT ?? "15000"}`,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" }
}
const now = Date.UTC(2026, 2, 31, 10, 0, 0)
const customerId = (n: number) => Ids.CustomerId.make(`cus_fan${n}`)
const apiKeyId = (n: number) => Ids.ApiKeyId.make(`key_fan${n}`)
const event = { id: "evt-fan", time: new Date(now).toISOString() } as Parameters<typeof SyncCoordinator.handle>[0]
const decode = Schema.decodeUnknownSync(Schema.parseJson(FanOut.WorkItem))

// Metered customer n with `units` today.
const metered = (n: number, units: number) => Metered.metered(customerId(n), apiKeyId(n), units)

const newQueue = (client: SQSClient) =>
  Effect.promise(() =>
    client.send(new CreateQueueCommand({ QueueName: `fan-${Date.now()}-${Math.random().toString(36).slice(2, 8)}` }))
  ).pipe(Effect.map((out) => out.QueueUrl!))

// Everything on the queue, as the event source mapping's records.
const receiveAll = (client: SQSClient, queueUrl: string, expected: number) =>
  Effect.promise(async () => {
    const records: Array<SQSRecord> = []
    for (let i = 0; i < 20 && records.length < expected; i++) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }))
      for (const m of out.Messages ?? []) {
        records.push({ messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body! } as SQSRecord)
      }
    }
    return records
  })

const emitted: Array<Record<string, unknown>> = []
const layer = (queueUrl: string) =>
  Layer.mergeAll(
    Memory.layerMemory(),
    // On the TestClock nothing moves time: the workers gather meter events without a window.
    BillingConfig.layer({ meterBatchWindow: Duration.zero }),
    SyncCoordinator.layerQueue(queueUrl, moto),
    Emf.layer("coordinator", { sink: (line) => emitted.push(JSON.parse(line) as Record<string, unknown>) })
  )

describe("SyncCoordinator on moto's SQS", () => {
  it.effect("enqueues the plan; workers bill every customer once, a duplicate delivery included", () =>
    Effect.gen(function*() {
      const client = new SQSClient({ ...moto, maxAttempts: 1 })
      const queueUrl = yield* newQueue(client)
      yield* Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const driver = yield* Driver.Driver
        const customers = FanOut.ENTRIES_PER_ITEM + 30
        for (let n = 0; n < customers; n++) yield* metered(n, n + 1)
        emitted.length = 0
        const report = yield* SyncCoordinator.handle(event)
        assert.strictEqual(report.workItemsEnqueued, 2)
        assert.strictEqual(report.customersEnqueued, customers)
        const metrics = emitted.find((d) => d.WorkItemsEnqueued !== undefined)!
        assert.strictEqual(metrics.Function, "coordinator")
        assert.strictEqual(metrics.WorkItemsEnqueued, 2)
        assert.strictEqual(metrics.CustomersEnqueued, customers)
        assert.strictEqual(metrics.CoordinatorSucceeded, 1)

        const records = yield* receiveAll(client, queueUrl, 2)
        assert.strictEqual(records.length, 2)
        assert.sameMembers(records.flatMap((r) => decode(r.body).entries.map((e) => e.customerId)), [
          ...Array.from({ length: customers }, (_, n) => customerId(n))
        ])
        const first = yield* SyncWorker.handle({ Records: records })
        assert.deepStrictEqual(first.batchItemFailures, [])
        // The first message delivered again (its visibility timeout ran out before the delete).
        const again = yield* SyncWorker.handle({ Records: [records[0]!] })
        assert.deepStrictEqual(again.batchItemFailures, [])
        const today = UtcDay.fromMillis(now)
        for (let n = 0; n < customers; n++) {
          assert.strictEqual(yield* driver.billed({ customerId: customerId(n), day: today }), n + 1)
          assert.strictEqual((yield* driver.meterEvents(customerId(n))).length, 1)
        }
      }).pipe(Effect.provide(layer(queueUrl)), Effect.ensuring(Effect.sync(() => client.destroy())))
    }))

  it.effect("a queue that is not there fails the run (EventBridge retries) and counts CoordinatorFailed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      yield* metered(1, 5)
      emitted.length = 0
      const error = yield* Effect.flip(SyncCoordinator.handle(event))
      assert.strictEqual(error._tag, "CoordinatorFailed")
      assert.match(error.message, /WorkQueueError/)
      assert.strictEqual(emitted.find((d) => d.CoordinatorFailed !== undefined)!.CoordinatorFailed, 1)
    }).pipe(Effect.provide(layer(`${moto.endpoint}/123456789012/no-such-queue`))))
})

// The fan-out's work queue against moto's SQS server: every item arrives as one decodable message,
// sent ten to a SendMessageBatch (SQS's limit per batch).
import { FanOut, Ids, UtcDay } from "@augint-billing/core"
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { SqsWorkQueue } from "../src/index.js"
import { moto, unique } from "./support/Servers.js"

const item = (n: number): FanOut.WorkItem => ({
  runStartedAt: Date.UTC(2026, 2, 31, 10),
  days: [UtcDay.UtcDay.make("2026-03-30"), UtcDay.UtcDay.make("2026-03-31")],
  entries: [{
    customerId: Ids.CustomerId.make(`cus_q${n}`),
    apiKeyId: Ids.ApiKeyId.make(`keyq${n}`),
    counts: [n, n + 1],
    metered: true
  }]
})

const decode = Schema.decodeUnknownSync(Schema.parseJson(FanOut.WorkItem))

describe("SqsWorkQueue on moto", () => {
  it.scoped("sends every item as one message, in batches of ten", () =>
    Effect.gen(function*() {
      const client = new SQSClient({ ...moto, maxAttempts: 1 })
      const name = unique("work")
      const created = yield* Effect.promise(() => client.send(new CreateQueueCommand({ QueueName: name })))
      const queue = yield* SqsWorkQueue.scoped(created.QueueUrl!, moto)
      const items = Array.from({ length: 23 }, (_, i) => item(i))
      yield* queue.send(items)
      const received: Array<FanOut.WorkItem> = []
      for (let i = 0; i < 10 && received.length < items.length; i++) {
        const out = yield* Effect.promise(() =>
          client.send(new ReceiveMessageCommand({ QueueUrl: created.QueueUrl!, MaxNumberOfMessages: 10 }))
        )
        for (const m of out.Messages ?? []) received.push(decode(m.Body))
      }
      client.destroy()
      assert.sameDeepMembers(received, items)
    }))
})

/**
 * The fanned-out sync's work queue on SQS: the coordinator sends `FanOut.WorkItem`s as JSON messages,
 * ten to a `SendMessageBatch` (SQS's limit per batch, 256 KiB per message and per batch), and the worker
 * Lambda's event source mapping receives them. A batch can partly fail (`Failed` entries with a
 * `SenderFault` flag): entries failed on SQS's side are sent once more, then the send fails.
 *
 * @since 0.3.0
 */
import { FanOut } from "@augint-billing/core"
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from "@aws-sdk/client-sqs"
import { Array as Arr, Effect, Schema } from "effect"
import type { ClientOptions } from "./AwsConfig.js"
import type { Classified } from "./internal/awsError.js"
import { clientConfig, send } from "./internal/sdk.js"

/** Why sending work failed. @since 0.3.0 @category errors */
export class WorkQueueError extends Schema.TaggedError<WorkQueueError>()("WorkQueueError", {
  reason: Schema.Literal("Throttled", "Transport", "Server", "Rejected", "BadRequest", "NotFound", "Conflict"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** SQS's most messages per `SendMessageBatch`. @since 0.3.0 @category constants */
export const MAX_BATCH = 10

/** Sending work items. @since 0.3.0 @category models */
export interface WorkQueue {
  /** Send every item (one message each), in batches of `MAX_BATCH`. */
  readonly send: (items: ReadonlyArray<FanOut.WorkItem>) => Effect.Effect<void, WorkQueueError>
}

const encode = Schema.encodeSync(Schema.parseJson(FanOut.WorkItem))

const queueError = (failure: Classified, cause: unknown) =>
  new WorkQueueError({
    reason: failure.kind === "ConditionFailed" ? "Conflict" : failure.kind,
    message: `SQS SendMessageBatch ${failure.message}`,
    cause
  })

/**
 * A work queue on `client` sending to `queueUrl`.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (client: SQSClient, queueUrl: string): WorkQueue => {
  const batch = (entries: ReadonlyArray<SendMessageBatchRequestEntry>, retried: boolean): Effect.Effect<
    void,
    WorkQueueError
  > =>
    send(
      (abortSignal) =>
        client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [...entries] }), { abortSignal }),
      queueError
    ).pipe(Effect.flatMap((out) => {
      const failed = out.Failed ?? []
      if (failed.length === 0) return Effect.void
      const ours = failed.find((f) => f.SenderFault === true)
      if (ours !== undefined || retried) {
        return Effect.fail(
          new WorkQueueError({
            reason: ours !== undefined ? "Rejected" : "Server",
            message: `SQS refused ${failed.length} of ${entries.length} messages: ${failed[0]!.Code}: ${
              failed[0]!.Message ?? ""
            }`
          })
        )
      }
      const again = new Set(failed.map((f) => f.Id))
      return batch(entries.filter((e) => again.has(e.Id)), true)
    }))

  return {
    send: (items) =>
      Effect.forEach(
        Arr.chunksOf(items, MAX_BATCH),
        (chunk) => batch(chunk.map((item, i) => ({ Id: String(i), MessageBody: encode(item) })), false),
        { discard: true }
      )
  }
}

/**
 * Build a work queue with its own client for `queueUrl`, closed when the scope ends.
 *
 * @since 0.3.0
 * @category constructors
 */
export const scoped = (queueUrl: string, options: ClientOptions = {}) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new SQSClient(clientConfig(options))),
      (client) => Effect.sync(() => client.destroy())
    ),
    (client) => make(client, queueUrl)
  )

/**
 * The fanned-out sync's worker: an SQS event source mapping delivers `FanOut.WorkItem` messages, each
 * is synced with `FanOut.work`, and the answer lists the messages to deliver again
 * (`ReportBatchItemFailures`: docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), so
 * one failed customer does not send a whole batch back. SQS delivers at least once and out of order;
 * the core's write-ahead ledger makes a repeated or late item bill nothing twice. A message that cannot
 * be decoded is failed too: after the queue's `maxReceiveCount` it lands in the dead-letter queue.
 *
 * @since 0.3.0
 */
import * as FanOut from "@augint-billing/core/FanOut"
import type * as HandleEvent from "@augint-billing/core/HandleEvent"
import type { SQSBatchResponse, SQSEvent } from "aws-lambda"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Emf from "./Emf.js"

const decode = Schema.decodeUnknownEither(Schema.parseJson(FanOut.WorkItem))

/** The worker's counters, as `Metric` counters (`Emf` writes them). @since 0.4.0 @category constants */
export const metrics = {
  workItemsSynced: Emf.counter("WorkItemsSynced"),
  workItemsFailed: Emf.counter("WorkItemsFailed"),
  workUnitsReported: Emf.counter("WorkUnitsReported"),
  workUnitsUnbillable: Emf.counter("WorkUnitsUnbillable"),
  workMeterEventsSent: Emf.counter("WorkMeterEventsSent"),
  workPlansRepaired: Emf.counter("WorkPlansRepaired"),
  workUsageHistoryVanished: Emf.counter("WorkUsageHistoryVanished"),
  workUsageCounterReset: Emf.counter("WorkUsageCounterReset")
}

/** Count a synced item's figures, as the schedule counts its run's (`Schedule.countReport`). */
const countItem = (counts: FanOut.WorkCounts) =>
  Effect.all([
    Metric.incrementBy(metrics.workUnitsReported, counts.unitsReported),
    Metric.incrementBy(metrics.workUnitsUnbillable, counts.unitsUnbillable),
    Metric.incrementBy(metrics.workMeterEventsSent, counts.meterEventsSent),
    Metric.incrementBy(metrics.workPlansRepaired, counts.plansRepaired),
    Metric.incrementBy(metrics.workUsageHistoryVanished, counts.customersHistoryVanished),
    Metric.incrementBy(metrics.workUsageCounterReset, counts.customersCounterReset)
  ], { discard: true })

/** What the worker needs: the flows' ports and the metrics reporter. @since 0.4.0 @category models */
export type Services = HandleEvent.Services | Emf.Emf

/**
 * Sync every message of `event`; the response names the messages that failed (undecodable, or with a
 * customer whose sync failed) so that only those are delivered again.
 *
 * @since 0.3.0
 * @category utils
 */
export const handle = (event: SQSEvent): Effect.Effect<SQSBatchResponse, never, Services> =>
  Effect.forEach(event.Records, (record) => {
    const item = decode(record.body)
    if (Either.isLeft(item)) {
      return Effect.logError("sync work item could not be decoded; it goes to the dead-letter queue").pipe(
        Effect.annotateLogs({ messageId: record.messageId }),
        Effect.as([record.messageId])
      )
    }
    return FanOut.work(item.right).pipe(
      Effect.tap(countItem),
      Effect.tap((counts) =>
        Effect.logInfo("sync work item done").pipe(Effect.annotateLogs({
          messageId: record.messageId,
          customersSeen: counts.customersSeen,
          customersReported: counts.customersReported,
          customersFailed: counts.customersFailed,
          unitsReported: counts.unitsReported,
          failures: counts.failures,
          // Who to look at: the keys whose GetUsage history vanished or whose counter restarted.
          historyVanished: counts.historyVanished,
          counterReset: counts.counterReset
        }))
      ),
      Effect.map((counts) => counts.customersFailed > 0 ? [record.messageId] : []),
      // A whole item that stopped (records unreachable) is delivered again like a failed customer.
      Effect.catchAllCause((cause) =>
        Effect.logError("sync work item failed; it is delivered again", cause).pipe(Effect.as([record.messageId]))
      ),
      Effect.annotateLogs({ messageId: record.messageId })
    )
  }).pipe(
    Effect.map((failed) => failed.flat()),
    Effect.tap((failed) =>
      Effect.zipRight(
        Metric.incrementBy(metrics.workItemsFailed, failed.length),
        Metric.incrementBy(metrics.workItemsSynced, event.Records.length - failed.length)
      )
    ),
    Effect.map((failed) => ({ batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) })),
    Emf.flushing,
    Effect.withSpan("SyncWorker.handle")
  )

/**
 * The Lambda handler over a runtime built once per container.
 *
 * @since 0.3.0
 * @category utils
 */
export const toHandler =
  <E>(runtime: ManagedRuntime.ManagedRuntime<Services, E>) => (event: SQSEvent): Promise<SQSBatchResponse> =>
    runtime.runPromise(handle(event))

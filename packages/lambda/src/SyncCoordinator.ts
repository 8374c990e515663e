/**
 * The fanned-out sync's coordinator: on the hourly schedule (template parameter `SyncMode=fanout`)
 * it reads the metered plan's usage and keys once (`FanOut.plan`) and sends the work items to the
 * work queue, whose event source mapping runs `SyncWorker`. Its run is bounded by the Lambda's
 * remaining time; a failed or cut run throws, EventBridge retries it, and items enqueued twice bill
 * nothing twice (the core's write-ahead ledger).
 *
 * @since 0.3.0
 */
import * as AwsConfig from "@augint-billing/adapters-aws/AwsConfig"
import * as SqsWorkQueue from "@augint-billing/adapters-aws/SqsWorkQueue"
import * as FanOut from "@augint-billing/core/FanOut"
import type { Context as LambdaContext } from "aws-lambda"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Emf from "./Emf.js"
import { budgetOf, describeInit } from "./LambdaRuntime.js"
import type * as Schedule from "./Schedule.js"
import type { ScheduledEvent } from "./Schedule.js"

// Schedule's values are not imported: that module's counters and flow would be bundled here.

/** Time left for the Lambda to write its last lines after a run is cut short. @since 0.3.0 @category constants */
export const shutdownMargin: Duration.Duration = Duration.seconds(10)

/** The queue the coordinator sends work items to. @since 0.3.0 @category services */
export class WorkQueue extends Context.Tag("@augint-billing/lambda/SyncCoordinator/WorkQueue")<
  WorkQueue,
  SqsWorkQueue.WorkQueue
>() {}

/** The SQS queue at `queueUrl`, its client closed with the runtime. @since 0.3.0 @category layers */
export const layerQueue = (queueUrl: string, options: AwsConfig.ClientOptions = {}): Layer.Layer<WorkQueue> =>
  Layer.scoped(WorkQueue, SqsWorkQueue.scoped(queueUrl, options))

/**
 * The queue named by `WORK_QUEUE_URL`, in `AWS_REGION`, at `AWS_ENDPOINT_URL_SQS` if set.
 * @since 0.3.0 @category layers
 */
export const layerQueueConfig: Layer.Layer<WorkQueue, AwsConfig.AwsConfigError> = Layer.unwrapEffect(
  Effect.map(
    AwsConfig.load(Config.all({
      queueUrl: Config.string("WORK_QUEUE_URL").pipe(
        Config.validate({ message: "must be an SQS queue URL", validation: (s) => /^https?:\/\/\S+$/.test(s) })
      ),
      options: AwsConfig.clientOptions("SQS")
    })),
    ({ options, queueUrl }) => layerQueue(queueUrl, options)
  )
)

/** The coordinator's counters, as `Metric` counters (`Emf` writes them). @since 0.3.0 @category constants */
export const metrics = {
  workItemsEnqueued: Emf.counter("WorkItemsEnqueued"),
  customersEnqueued: Emf.counter("CustomersEnqueued"),
  coordinatorFailed: Emf.counter("CoordinatorFailed"),
  coordinatorSucceeded: Emf.counter("CoordinatorSucceeded")
}

/** What one coordinator run enqueued. @since 0.3.0 @category models */
export const Report = Schema.Struct({
  startedAt: Schema.Int,
  finishedAt: Schema.Int,
  workItemsEnqueued: Schema.Int,
  customersEnqueued: Schema.Int,
  usagePagesRead: Schema.Int
})
/** What one coordinator run enqueued. @since 0.3.0 @category models */
export type Report = typeof Report.Type

/** A coordinator run that failed or ran out of time; EventBridge retries it. @since 0.3.0 @category errors */
export class CoordinatorFailed extends Schema.TaggedError<CoordinatorFailed>()("CoordinatorFailed", {
  message: Schema.String
}) {}

/**
 * Options of one run: `budget`, the invocation's remaining time less a margin; a run still going at
 * its end fails. @since 0.3.0 @category models
 */
export type Options = Pick<Schedule.Options, "budget">

/**
 * What a run needs: `FanOut.plan`'s ports (records, usage, plan keys: no Stripe, so the coordinator
 * bundles no Stripe client and reads no secret), the queue and the metrics reporter.
 * @since 0.3.0 @category models
 */
export type Services = Effect.Effect.Context<ReturnType<typeof FanOut.plan>> | WorkQueue | Emf.Emf

/** Plan the run and enqueue its work items. @since 0.3.0 @category utils */
export const handle = (
  event: ScheduledEvent,
  options: Options = {}
): Effect.Effect<Report, CoordinatorFailed, Services> =>
  Effect.gen(function*() {
    const queue = yield* WorkQueue
    const planned = yield* FanOut.plan()
    yield* queue.send(planned.items)
    const customers = planned.items.reduce((n, item) => n + item.entries.length, 0)
    const report: Report = {
      startedAt: planned.startedAt,
      finishedAt: yield* Clock.currentTimeMillis,
      workItemsEnqueued: planned.items.length,
      customersEnqueued: customers,
      usagePagesRead: planned.usagePagesRead
    }
    yield* Effect.logInfo(
      `sync fan-out: ${report.workItemsEnqueued} work items (${customers} customers) enqueued`
    ).pipe(Effect.annotateLogs({ report }))
    yield* Metric.incrementBy(metrics.workItemsEnqueued, report.workItemsEnqueued)
    yield* Metric.incrementBy(metrics.customersEnqueued, customers)
    yield* Metric.incrementBy(metrics.coordinatorSucceeded, 1)
    return report
  }).pipe(
    (run) =>
      options.budget === undefined ? run : Effect.timeoutFail(run, {
        duration: options.budget,
        onTimeout: () =>
          new CoordinatorFailed({
            message: `stopped after ${Duration.format(options.budget!)}, before the function's timeout`
          })
      }),
    Effect.tapErrorCause((cause) =>
      Effect.zipRight(
        Effect.logError("sync fan-out failed: EventBridge will retry").pipe(
          Effect.annotateLogs({ failure: describeInit(cause) })
        ),
        Metric.incrementBy(metrics.coordinatorFailed, 1)
      )
    ),
    Effect.mapError((error) =>
      error._tag === "CoordinatorFailed" ? error : new CoordinatorFailed({ message: `${error._tag}: ${error.message}` })
    ),
    Effect.annotateLogs({ scheduledEventId: event.id, scheduledAt: event.time }),
    Emf.flushing,
    Effect.withSpan("SyncCoordinator.handle")
  )

/**
 * The Lambda handler over a runtime built once per container; the run's budget is the context's
 * remaining time less `shutdownMargin`; a failed run throws, so it is retried.
 * @since 0.3.0 @category utils
 */
export const toHandler =
  <E>(runtime: ManagedRuntime.ManagedRuntime<Services, E>) =>
  async (event: ScheduledEvent, context?: Pick<LambdaContext, "getRemainingTimeInMillis">): Promise<Report> => {
    const exit = await runtime.runPromiseExit(handle(event, budgetOf(context, shutdownMargin)))
    if (Exit.isSuccess(exit)) return exit.value
    throw new Error(`sync fan-out failed: ${describeInit(exit.cause)}`)
  }

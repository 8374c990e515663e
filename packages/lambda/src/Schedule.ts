/**
 * The hourly schedule handler: an EventBridge scheduled event runs `syncUsage`; the `SyncReport` is
 * logged as one JSON line and emitted as CloudWatch metrics in Embedded Metric Format. EventBridge
 * may deliver the same event again (and retries a failed run): that is safe, the sync is exactly-once.
 *
 * @since 0.1.0
 */
import type * as HandleEvent from "@augint-billing/core/HandleEvent"
import * as UsageSync from "@augint-billing/core/UsageSync"
import type { Context, EventBridgeEvent } from "aws-lambda"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Emf from "./Emf.js"
import { budgetOf, describeInit } from "./LambdaRuntime.js"

/** An EventBridge scheduled event (the detail is not read). @since 0.1.0 @category models */
export type ScheduledEvent = EventBridgeEvent<"Scheduled Event", unknown>

/**
 * The sync report's counters and the run's outcome, as `Metric` counters (`Emf` writes them).
 * @since 0.2.0 @category constants
 */
export const metrics = {
  unitsReported: Emf.counter("UnitsReported"),
  customersReported: Emf.counter("CustomersReported"),
  customersFailed: Emf.counter("CustomersFailed"),
  customersSeen: Emf.counter("CustomersSeen"),
  meterEventsSent: Emf.counter("MeterEventsSent"),
  syncDuration: Emf.counter("SyncDuration"),
  syncSucceeded: Emf.counter("SyncSucceeded"),
  syncFailed: Emf.counter("SyncFailed"),
  syncCutShort: Emf.counter("SyncCutShort"),
  syncStoppedEarly: Emf.counter("SyncStoppedEarly"),
  customersLeft: Emf.counter("CustomersLeft"),
  plansRepaired: Emf.counter("PlansRepaired"),
  usageHistoryVanished: Emf.counter("UsageHistoryVanished"),
  usageCounterReset: Emf.counter("UsageCounterReset"),
  unitsUnbillable: Emf.counter("UnitsUnbillable")
}

const count = (metric: Metric.Metric.Counter<number>, n: number) => Metric.incrementBy(metric, n)

/** Count a finished run: its report's counters and one `SyncSucceeded`. @since 0.2.0 @category utils */
export const countReport = (report: UsageSync.SyncReport): Effect.Effect<void> =>
  Effect.all([
    count(metrics.unitsReported, report.unitsReported),
    count(metrics.customersReported, report.customersReported),
    count(metrics.customersFailed, report.customersFailed),
    count(metrics.customersSeen, report.customersSeen),
    count(metrics.meterEventsSent, report.meterEventsSent),
    count(metrics.syncDuration, report.finishedAt - report.startedAt),
    count(metrics.customersLeft, report.customersLeft),
    count(metrics.plansRepaired, report.plansRepaired),
    count(metrics.syncStoppedEarly, report.stoppedEarly ? 1 : 0),
    count(metrics.usageHistoryVanished, report.customersHistoryVanished),
    count(metrics.usageCounterReset, report.customersCounterReset),
    count(metrics.unitsUnbillable, report.unitsUnbillable),
    count(metrics.syncSucceeded, 1)
  ], { discard: true })

/**
 * A sync run that stopped as a whole (usage or repository unreachable); EventBridge retries it.
 * @since 0.1.0 @category errors
 */
export class SyncFailed extends Schema.TaggedError<SyncFailed>()("SyncFailed", {
  message: Schema.String
}) {}

/** A run stopped before the function's timeout would kill it (`Options.budget`). @since 0.2.0 @category errors */
export class SyncCutShort extends Schema.TaggedError<SyncCutShort>()("SyncCutShort", {
  message: Schema.String
}) {}

/** Options of one run. @since 0.2.0 @category models */
export interface Options {
  /**
   * The invocation's remaining time less a margin; default none. The sync starts no customer within
   * `SyncRun.DRAIN_RESERVE` of its end (a `SyncStoppedEarly` run), and a run still going at its end
   * is interrupted (`SyncCutShort`).
   */
  readonly budget?: Duration.Duration
}

/** Run the sync for one scheduled event; the report (encoded) or `SyncFailed`. @since 0.1.0 @category utils */
export const handle = (
  event: ScheduledEvent,
  options: Options = {}
): Effect.Effect<typeof UsageSync.SyncReport.Encoded, SyncFailed, HandleEvent.Services | Emf.Emf> =>
  Effect.gen(function*() {
    const deadline = options.budget === undefined
      ? {}
      : { deadline: (yield* Clock.currentTimeMillis) + Duration.toMillis(options.budget) }
    const run = UsageSync.syncUsage(deadline)
    const report = yield* options.budget === undefined ? run : run.pipe(
      // Interrupted, the sync stops as a crash would (every step is exactly-once across one), but its
      // finalizers run and the cut is counted and logged before Lambda kills the process.
      Effect.timeoutFail({
        duration: options.budget,
        onTimeout: () =>
          new SyncCutShort({
            message: `stopped after ${Duration.format(options.budget!)}, before the function's timeout`
          })
      })
    )
    const encoded = Schema.encodeSync(UsageSync.SyncReport)(report)
    yield* Effect.logInfo("usage sync report").pipe(Effect.annotateLogs({ report: encoded }))
    yield* countReport(report)
    return encoded
  }).pipe(
    Effect.tapErrorCause((cause) =>
      Effect.zipRight(
        Effect.logError("usage sync failed: EventBridge will retry").pipe(
          Effect.annotateLogs({ failure: describeInit(cause) })
        ),
        Cause.failureOption(cause).pipe(
          Option.filter((e) => e._tag === "SyncCutShort"),
          Option.match({ onNone: () => count(metrics.syncFailed, 1), onSome: () => count(metrics.syncCutShort, 1) })
        )
      )
    ),
    Effect.mapError((error) => new SyncFailed({ message: `${error._tag}: ${error.message}` })),
    Effect.annotateLogs({ scheduledEventId: event.id, scheduledAt: event.time }),
    Emf.flushing,
    Effect.withSpan("Schedule.handle")
  )

/** Time left for the Lambda to write its last lines after a run is cut short. @since 0.2.0 @category constants */
export const shutdownMargin: Duration.Duration = Duration.seconds(10)

/**
 * The Lambda handler over a runtime built once per container; a failed run throws, so it is retried.
 * @since 0.1.0 @category utils
 */
export const toHandler = <E>(runtime: ManagedRuntime.ManagedRuntime<HandleEvent.Services | Emf.Emf, E>) =>
async (
  event: ScheduledEvent,
  context?: Pick<Context, "getRemainingTimeInMillis">
): Promise<typeof UsageSync.SyncReport.Encoded> => {
  const exit = await runtime.runPromiseExit(handle(event, budgetOf(context, shutdownMargin)))
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(`usage sync failed: ${describeInit(exit.cause)}`)
}
